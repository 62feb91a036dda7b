#!/usr/bin/env bash
# Secrets (issue 13): an https token given in a remote URL never appears in
# any output, JSON or the daemon's log (ssync_redact_url on every printer,
# libgit2's messages scrubbed); a token can be given outside the URL
# (remote add --token-file, HOME/tokens/NAME mode 0600, or
# SCHOOLSYNC_TOKEN_<NAME>) and is then offered to the server: a small HTTP
# server that asks for Basic auth records what it was sent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

S1=S3cretPassw0rd41 S2=ghpTokenOnly77xyz S3=FileToken99abc S4=EnvToken55def
DEAD=$(closed_port)
mk_node a sch-a
ALL=$T/all-output.txt
: >"$ALL"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL"; }

ss a remote add hub "https://clerk:$S1@127.0.0.1:$DEAD/district.git"; keep
assert_eq "remote add with a password in the URL works" 0 "$RC"
assert_contains "... and shows it masked" "https://clerk:\*\*\*@127.0.0.1:$DEAD/district.git" "$OUT"
assert_contains "... with a warning to use --token-file" "prefer: remote add NAME URL --token-file" "$OUT"
ss a --json remote add gh "https://$S2@127.0.0.1:$DEAD/d.git?access_token=$S2"; keep
assert_contains "a token as the user part, and in the query, are masked in JSON" '"url": "https://\*\*\*@127.0.0.1:[0-9]+/d.git\?access_token=\*\*\*"' "$OUT"
ss a remote list; keep
assert_contains "remote list masks" "clerk:\*\*\*@" "$OUT"
ss a remote list --json; keep
assert_contains "remote list --json masks" "clerk:\*\*\*@" "$OUT"
ss a sync --remote hub; keep
assert_ne "sync with the dead remote fails" 0 "$RC"
ss a sync --remote gh --json; keep
ss a status; keep
ss a status --json; keep

log "=== the daemon's log and status"
LOGF=$T/daemon.log
"$SSYNC_DAEMON" --home "$T/a" >"$LOGF" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do [ -S "$T/a/control.sock" ] && break; sleep 0.1; done
for _ in $(seq 1 100); do grep -q "gh" "$LOGF" && grep -qi "E_NET\|fail" "$LOGF" && break; sleep 0.1; done
ss a status --json; keep
ss a sync --now; keep
kill -TERM "$DPID" 2>/dev/null || true
wait "$DPID" 2>/dev/null || true
cat "$LOGF" >>"$ALL"
assert_contains "the daemon logged the remotes (masked)" "remote hub \(https://clerk:\*\*\*@" "$(cat "$LOGF")"
for s in "$S1" "$S2"; do
	assert_eq "secret ${s:0:4}... appears in no output, JSON or log" 0 "$(grep -c -- "$s" "$ALL" || true)"
done

log "=== a token outside the URL is offered to the server"
PORT=$(free_port)
cat >"$T/authsrv.py" <<'PYEOF'
import http.server, sys
log = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        a = self.headers.get("Authorization")
        log.write((a or "-") + "\n"); log.flush()
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="hub"')
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_POST = do_GET
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF
"$PY" "$T/authsrv.py" "$PORT" "$T/auth.log" &
SRV=$!
for _ in $(seq 1 50); do port_open "$PORT" && break; sleep 0.1; done
printf '%s\n' "$S3" >"$T/tokfile"
ss a remote add auth "http://127.0.0.1:$PORT/district.git" --token-file "$T/tokfile"; keep
assert_eq "remote add --token-file works" 0 "$RC"
assert_eq "the token is kept in HOME/tokens/auth, mode 600" "600" "$(stat -c %a "$T/a/tokens/auth")"
assert_eq "... and not in the repository's config" 0 "$(grep -c -- "$S3" "$T/a/exchange.git/config" || true)"
ss a sync --remote auth; keep
assert_ne "the server refuses (it only records)" 0 "$RC"
decoded=$("$PY" -c 'import base64,sys
for l in open(sys.argv[1]):
    l=l.strip()
    if l.startswith("Basic "): print(base64.b64decode(l[6:]).decode())' "$T/auth.log")
assert_contains "the file's token was offered as the password" "x-access-token:$S3" "$decoded"
SCHOOLSYNC_TOKEN_AUTH=$S4 ss a sync --remote auth; keep
decoded=$("$PY" -c 'import base64,sys
for l in open(sys.argv[1]):
    l=l.strip()
    if l.startswith("Basic "): print(base64.b64decode(l[6:]).decode())' "$T/auth.log")
assert_contains "SCHOOLSYNC_TOKEN_AUTH overrides the file" "x-access-token:$S4" "$decoded"
chmod 644 "$T/a/tokens/auth"
ss a sync --remote auth; keep
assert_contains "a token file others can read is refused (E_UNSAFE)" "E_UNSAFE" "$ERR"
chmod 600 "$T/a/tokens/auth"
ss a remote remove auth; keep
assert_eq "remote remove deletes its token" no "$([ -e "$T/a/tokens/auth" ] && echo yes || echo no)"
kill "$SRV" 2>/dev/null || true
for s in "$S3" "$S4"; do
	assert_eq "token ${s:0:4}... appears in no output" 0 "$(grep -c -- "$s" "$ALL" || true)"
done

summary
