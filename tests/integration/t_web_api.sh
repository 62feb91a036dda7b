#!/usr/bin/env bash
# The web console's server (docs/WEB.md) against a real daemon: login by
# one-time token, sessions, CSRF, body limits, loopback only, the pages'
# security headers, and the JSON API writing exactly what the CLI writes.
# HTTP from python3's http.client (tests/integration/web_http.py).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp
: "${SSYNC_DAEMON:=$(dirname "$SSYNC_BIN")/schoolsyncd}"
WH=$SSYNC_SRC/tests/integration/web_http.py

# req JAR METHOD PATH [web_http.py args...]: sets HS (status) and HB (body)
req() {
	local jar=$1 m=$2 p=$3 out
	shift 3
	out=$("$PY" "$WH" "$jar" "$m" "http://127.0.0.1:$PORT$p" "$@")
	HS=${out%%$'\n'*}
	if [[ $out == *$'\n'* ]]; then HB=${out#*$'\n'}; else HB=; fi
}
code_of() { "$PY" -c 'import json,sys
try: print(json.loads(sys.argv[1])["error"]["code"])
except Exception: print("not-an-error-object")' "$1"; }

mk_node a sch-a
echo '{"web": {"port": 0}}' >"$T/a/config.json"
DPID=$(_spawn "$T/daemon.log" "$SSYNC_DAEMON" --home "$T/a")
for _ in $(seq 100); do [ -S "$T/a/control.sock" ] && break; sleep 0.1; done
ST=$(ssx a status --json)
PORT=$(jget "$ST" 'j["daemon"]["web"]["port"]')
assert_ne "config web.port 0: the daemon's console listens on a port (status daemon.web)" "0" "${PORT:-0}"
log "console on port $PORT"

# --- loopback only ---
assert_eq "the console listens on 127.0.0.1 only (/proc/net/tcp)" "0100007F" \
	"$("$PY" - "$PORT" <<'PYEOF'
import sys
port = "%04X" % int(sys.argv[1])
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        for line in open(f).readlines()[1:]:
            p = line.split()
            if p[3] == "0A" and p[1].endswith(":" + port):
                print(p[1].split(":")[0])
    except FileNotFoundError:
        pass
PYEOF
)"

# --- no session ---
NJ=$T/none.jar
req "$NJ" GET /api/session
assert_eq "no session: /api/session is 401" 401 "$HS"
assert_eq "no session: the CLI's error object (E_PERM)" E_PERM "$(code_of "$HB")"
req "$NJ" GET /api/status
assert_eq "no session: /api/status is 401" 401 "$HS"
req "$NJ" POST /api/sync
assert_eq "no session: POST /api/sync is 401" 401 "$HS"

# --- login tokens ---
req "$NJ" GET "/login?t=$(printf '0%.0s' $(seq 64))"
assert_eq "an unknown login token is refused (403)" 403 "$HS"
req "$NJ" GET "/login?t=abc"
assert_eq "a malformed login token is refused (403)" 403 "$HS"
URL=$(ssx a web --user 网页老师)
assert_contains "schoolsync web prints http://127.0.0.1:PORT/login?t=TOKEN" "^http://127\.0\.0\.1:$PORT/login\?t=[0-9a-f]{64}$" "$URL"
J=$T/s.jar
req "$J" GET "${URL#http://127.0.0.1:$PORT}" --show-headers
assert_eq "a login token: 303 to /" 303 "$HS"
assert_contains "the session cookie is HttpOnly, SameSite=Strict, Path=/" \
	"Set-Cookie: ssid=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/" "$HB"
req "$NJ" GET "${URL#http://127.0.0.1:$PORT}"
assert_eq "a login token works once (used: 403)" 403 "$HS"
JS=$(ssx a web --json --user x)
assert_eq "web --json: an object with the url and the daemon" "True $PORT" "$(jget "$JS" 'j["daemon"], j["port"]' | tr -d '(),')"

# --- the session ---
req "$J" GET /api/session
assert_eq "session: 200" 200 "$HS"
assert_eq "session: the actor is the --user of schoolsync web, the node its own" "网页老师 sch-a" \
	"$(jget "$HB" 'j["actor"] + " " + j["node"]')"
CSRF=$(jget "$HB" 'j["csrf"]')
req "$J" GET /api/status
assert_eq "status: 200 with the daemon's answer" "200 True" "$HS $(jget "$HB" 'j["daemon"]["running"]')"
SEQ=$(jget "$HB" 'j["seq"]')
req "$J" GET "/api/status?since=x"
assert_eq "status?since=x is a 400" 400 "$HS"

# --- CSRF ---
req "$J" POST /api/sync
assert_eq "POST without X-CSRF-Token: 403" 403 "$HS"
req "$J" POST /api/sync "X-CSRF-Token: ${CSRF}0"
assert_eq "POST with a wrong X-CSRF-Token: 403" 403 "$HS"
req "$J" POST /api/sync "X-CSRF-Token: $CSRF" "Origin: http://evil.example"
assert_eq "POST from a foreign Origin (even with the token): 403" 403 "$HS"
req "$J" POST /api/sync "X-CSRF-Token: $CSRF" "Sec-Fetch-Site: cross-site"
assert_eq "POST with Sec-Fetch-Site cross-site: 403" 403 "$HS"
req "$J" POST /api/sync "X-CSRF-Token: $CSRF" "Origin: http://127.0.0.1:$PORT" "Sec-Fetch-Site: same-origin"
assert_eq "sync now with no remotes: the daemon's E_NOTFOUND, 404" "404 E_NOTFOUND" "$HS $(code_of "$HB")"

# --- bodies ---
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/big.json"
req "$J" POST /api/tables/teacher --body "$T/big.json" "X-CSRF-Token: $CSRF"
assert_eq "a JSON body over 64 KiB: 413 E_TOO_LARGE" "413 E_TOO_LARGE" "$HS $(code_of "$HB")"
head -c $((8 * 1024 * 1024 + 1)) /dev/zero >"$T/big.csv"
req "$J" POST /api/import/teacher --body "$T/big.csv" "X-CSRF-Token: $CSRF"
assert_eq "a CSV body over 8 MiB: 413" 413 "$HS"

# --- pages ---
req "$NJ" GET / --show-headers
assert_eq "GET / serves the index page without a session" 200 "$HS"
assert_contains "pages: CSP default-src 'self'" "Content-Security-Policy: default-src 'self'" "$HB"
assert_contains "pages: nosniff" "X-Content-Type-Options: nosniff" "$HB"
assert_contains "pages: no framing" "X-Frame-Options: DENY" "$HB"
assert_contains "pages: text/html; charset=utf-8" "Content-Type: text/html; charset=utf-8" "$HB"
for p in /../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /..%2f..%2fetc%2fpasswd //etc/passwd /index.html/.. /src/web/assets/index.html; do
	req "$NJ" GET "$p"
	assert_eq "path traversal $p: 404" 404 "$HS"
done
req "$NJ" GET / "Host: evil.example:$PORT"
assert_eq "a foreign Host on the loopback console (DNS rebinding): 421" 421 "$HS"

# --- another OS user ---
# (the system's python3: a pyenv one under /root is not nobody's to run)
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && [ -x /usr/bin/python3 ]; then
	OUT=$(runuser -u nobody -- /usr/bin/python3 "$WH" /dev/null GET "http://127.0.0.1:$PORT/api/session" 2>&1 | head -1)
	assert_eq "another OS user without a token: 401" 401 "$OUT"
	OUT=$(runuser -u nobody -- "$SSYNC_BIN" --home "$T/a" web 2>&1)
	assert_not_contains "another OS user cannot get a login link" "login\?t=" "$OUT"
else
	log "skipped: the other-OS-user checks need root and runuser"
fi

kill -TERM "$DPID" 2>/dev/null
summary
