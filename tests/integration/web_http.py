#!/usr/bin/env python3
"""One HTTP request for the web console tests (http.client, no redirects).

usage: web_http.py JAR METHOD URL [--body FILE|-] [--show-headers] [HEADER: VALUE]...

JAR is a file holding the session cookie: read for the request, rewritten
when the answer sets one. Prints the status code on the first line, then
the body (with --show-headers: the response headers, one per line, and an
empty line between). Exit 0 whatever the status (the test judges it)."""
import http.client
import sys
import urllib.parse

jar, method, url = sys.argv[1:4]
body = None
headers = {}
args = sys.argv[4:]
show = "--show-headers" in args
args = [a for a in args if a != "--show-headers"]
i = 0
while i < len(args):
    a = args[i]
    if a == "--body":
        f = args[i + 1]
        body = sys.stdin.buffer.read() if f == "-" else open(f, "rb").read()
        i += 2
        continue
    k, v = a.split(":", 1)
    headers[k.strip()] = v.strip()
    i += 1
u = urllib.parse.urlsplit(url)
path = u.path + ("?" + u.query if u.query else "")
try:
    with open(jar) as f:
        c = f.read().strip()
        if c:
            headers.setdefault("Cookie", c)
except FileNotFoundError:
    pass
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
conn.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
for k, v in headers.items():
    conn.putheader(k, v)
if body is not None:
    conn.putheader("Content-Length", str(len(body)))
conn.endheaders()
if body is not None:
    try:
        conn.send(body)
    except (BrokenPipeError, ConnectionResetError):
        pass
r = conn.getresponse()
data = r.read()
for k, v in r.getheaders():
    if k.lower() == "set-cookie":
        with open(jar, "w") as f:
            f.write(v.split(";", 1)[0] + "\n")
sys.stdout.write("%d\n" % r.status)
if show:
    for k, v in r.getheaders():
        sys.stdout.write("%s: %s\n" % (k, v))
    sys.stdout.write("\n")
sys.stdout.buffer.write(data)
