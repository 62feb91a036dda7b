#!/usr/bin/env python3
"""A tiny smart-HTTP git server for the integration tests.

Serves every repository under --root through `git http-backend` (run as a CGI
program, one process per request) on a loopback address. Standard library
only. Binds port 0 unless --port is given and writes the port it got to
--port-file once it is listening, so the caller never races for a port.

Pushing needs `http.receivepack true` in the served repository's config
(git http-backend refuses anonymous pushes otherwise).
"""
import argparse
import os
import subprocess
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class GitHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection, then close
    server_version = "ssync-test-http/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("http_backend: %s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.run_cgi(b"")

    def do_POST(self):
        try:
            body = self.read_body()
        except (ValueError, EOFError, ConnectionError):
            self.send_error(400, "bad request body")
            return
        self.run_cgi(body)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise EOFError("connection closed inside a chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers, up to the empty line
                        t = self.rfile.readline(1024)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                data = self.rfile.read(size)
                if len(data) != size:
                    raise EOFError("short chunk")
                parts.append(data)
                self.rfile.readline(16)  # CRLF after the chunk
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n > 0 else b""
        if len(data) != n:
            raise EOFError("short body")
        return data

    def run_cgi(self, body):
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.0",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.server.server_address[1]),
            "REQUEST_METHOD": self.command,
            "PATH_INFO": urllib.parse.unquote(path),
            "QUERY_STRING": query,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        for k, v in self.headers.items():
            key = "HTTP_" + k.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"):
                env[key] = v
        try:
            p = subprocess.run(["git", "http-backend"], input=body, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        except OSError as e:
            self.send_error(500, "cannot run git http-backend: %s" % e)
            return
        if p.stderr and self.server.verbose:
            sys.stderr.write("http_backend: git: %s\n" % p.stderr.decode("utf-8", "replace").strip())
        out = p.stdout
        sep = out.find(b"\r\n\r\n")
        seplen = 4
        lf = out.find(b"\n\n")
        if sep < 0 or (0 <= lf < sep):
            sep, seplen = lf, 2
        if sep < 0:
            self.send_error(502, "git http-backend gave no CGI headers")
            return
        head, payload = out[:sep].decode("latin-1"), out[sep + seplen:]
        code, reason, headers = 200, "OK", []
        for line in head.splitlines():
            if ":" not in line:
                continue
            k, v = line.split(":", 1)
            k, v = k.strip(), v.strip()
            if k.lower() == "status":
                code_s, _, reason = v.partition(" ")
                code = int(code_s)
            elif k.lower() != "content-length":
                headers.append((k, v))
        try:
            self.send_response(code, reason or None)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", required=True, help="directory holding the bare repositories")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), GitHandler)
    srv.daemon_threads = True
    srv.root = os.path.abspath(a.root)
    srv.verbose = a.verbose
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
