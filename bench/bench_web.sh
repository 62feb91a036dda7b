#!/usr/bin/env bash
# Web console figures (docs/WEB.md): a district of ~5,000 teachers (demo
# data, 111 schools x 46), schoolsyncd with the console, and then
#   - time of GET / , GET /api/status and GET /api/tables/teacher?limit=5000
#     (a 5,000-row list), and of every request the home page and the data
#     page with 5,000 rows make (one after another, nothing cached): the
#     median and the slowest of R runs, a fresh connection per request,
#     timed from python3's http.client (connect to last byte), and the
#     daemon's CPU time per run (/proc/PID/stat);
#   - the daemon's RSS: without the console, with it started and idle, and
#     idle again after those requests.
# Runs well under a minute. Usage: bench/bench_web.sh [R]   (default 15)
set -euo pipefail
R=${1:-15}
cd "$(dirname "$0")/.."
ROOT=$PWD
B=${SSYNC_BIN:-$ROOT/build/schoolsync}
D=${SSYNC_DAEMON:-$(dirname "$B")/schoolsyncd}
[ -x "$B" ] && [ -x "$D" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }
T=$(mktemp -d /tmp/ssync-bench-web.XXXXXX)
DPID=
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
start() {
	"$D" --home "$T/h" >"$T/d.log" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do [ -S "$T/h/control.sock" ] && break; sleep 0.1; done
	sleep 1 # let the first remote-list run finish
}
stop() { kill "$DPID"; wait "$DPID" 2>/dev/null || true; DPID=; }

"$B" --home "$T/h" init --node cm-001 --district d1 >/dev/null
"$B" --home "$T/h" demo-data --schools 111 --teachers 46 >/dev/null
NT=$("$B" --home "$T/h" --json sql "SELECT count(*) AS n FROM teacher" | grep -o '[0-9]\+' | tail -1)

start
RSS_OFF=$(rss_kb "$DPID")
stop
echo '{"web": {"port": 0}}' >"$T/h/config.json"
start
RSS_IDLE=$(rss_kb "$DPID")
URL=$("$B" --home "$T/h" web --user bench)

python3 - "$URL" "$R" "$DPID" <<'PY'
import http.client, os, statistics, sys, time, urllib.parse
url, R, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tick = os.sysconf("SC_CLK_TCK")
def cpu_ms():  # the daemon's user + system CPU time
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000.0 / tick
u = urllib.parse.urlsplit(url)
def req(path, cookie=None):
    t0 = time.perf_counter()
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    r = c.getresponse()
    body = r.read()
    dt = time.perf_counter() - t0
    return r, body, dt
r, _, _ = req(u.path + "?" + u.query)
cookie = r.getheader("Set-Cookie").split(";")[0]
def batch(label, paths):
    times = []
    c0 = cpu_ms()
    for _ in range(R):
        t = 0
        size = 0
        for path in paths:
            r, body, dt = req(path, cookie)
            assert r.status == 200, (path, r.status)
            t += dt
            size += len(body)
        times.append(t * 1000)
    cpu = (cpu_ms() - c0) / R
    print("%-44s median %6.1f ms  max %6.1f ms  daemon CPU %5.1f ms  (%d bytes, %d runs)" % (
        label, statistics.median(times), max(times), cpu, size, R))
batch("GET / (index.html alone)", ["/"])
batch("GET /api/status", ["/api/status"])
batch("GET /api/tables/teacher?limit=5000", ["/api/tables/teacher?limit=5000"])
# what a browser fetches for each page, one after another (no cache)
batch("home page: html, css, js, session, status", ["/", "/app.css", "/app.js", "/api/session", "/api/status"])
batch("data page, 5,000 teachers: html, css, js, session, tables, rows",
      ["/data.html", "/app.css", "/app.js", "/api/session", "/api/tables", "/api/tables/teacher?limit=5000"])
PY
sleep 1
RSS_AFTER=$(rss_kb "$DPID")
echo "teachers in the replica: $NT; load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
echo "daemon RSS: console off $RSS_OFF KiB, console on and idle $RSS_IDLE KiB, idle after the requests above $RSS_AFTER KiB"
stop
