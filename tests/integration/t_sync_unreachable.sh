#!/usr/bin/env bash
# Unreachable and vanishing remotes (TESTPLAN B.13, B.16, B.17; issue #3).
#  1. A remote that does not exist (path), a closed git:// port and a closed
#     http:// port: sync fails fast (exit 1) with E_NET naming the remote, the
#     state is unchanged, local writes still work, the other remotes still sync.
#  2. A remote that goes away mid-transfer: a 50,000-row backlog is pushed over
#     git:// and smart HTTP while the server (or the sync itself) is killed
#     after a random delay, several times. Afterwards a normal sync completes,
#     the hub passes git fsck, all replicas converge and the logs verify.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

# 2 rounds kill each of {git, http} x {server, sync process} once, pushing
# and fetching (the mode alternates); more rounds repeat them at other
# random moments.
ROUNDS=${SSYNC_KILL_ROUNDS:-2}
now_ms() { date +%s%3N; }
heads() { git --git-dir="$1" for-each-ref --format='%(refname) %(objectname)' refs/heads/ 2>/dev/null; }

# ============================================================================
log "=== 1. unreachable remotes"
mkdir -p "$T/srv"
new_hub "$T/srv/hub.git"
mk_node a sch-a hub "$T/srv/hub.git"
ssx a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t1','sch-a','张三','中级')" >/dev/null
sync_ok a >/dev/null
ssx a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t2','sch-a','李四','高级')" >/dev/null
P1=$(closed_port)
P2=$(closed_port)
ssx a remote add nopath "$T/not-mounted/hub.git" >/dev/null
ssx a remote add nogit "git://127.0.0.1:$P1/hub.git" >/dev/null
ssx a remote add nohttp "http://127.0.0.1:$P2/hub.git" >/dev/null

for r in nopath nogit nohttp; do
	H=$(state_hash a)
	REFS=$(heads "$T/a/exchange.git")
	t0=$(now_ms)
	ss a sync --remote "$r"
	dt=$(( $(now_ms) - t0 ))
	# Exit 1 (not the command timeout's 124) and no wait for a timeout: a
	# closed port or a missing path fails at once, however busy the machine.
	assert_eq "$r: sync exits 1 (took ${dt} ms)" 1 "$RC"
	assert_not_contains "$r: failed without waiting for a timeout" 'timed out|[Tt]imeout' "$ERR"
	assert_contains "$r: stderr says E_NET" '\[E_NET\]' "$ERR"
	assert_contains "$r: stderr names the remote" "remote $r|from $r|to $r" "$ERR"
	assert_contains "$r: a hint follows" '^hint: ' "$ERR"
	assert_eq "$r: state-hash unchanged" "$H" "$(state_hash a)"
	assert_eq "$r: exchange branches unchanged" "$REFS" "$(heads "$T/a/exchange.git")"
	ss a sync --remote "$r" --json
	# the error object is stderr's last JSON line (a warning may come first)
	assert_eq "$r: --json: error object (last JSON line on stderr) has code E_NET" "1 E_NET" \
		"$RC $(jget "$(grep '^{' <<<"$ERR" | tail -n1)" 'j["error"]["code"]' 2>/dev/null || echo unparsable)"
	if regression B8 "sync --remote R --json on failure adds 'schoolsync: error: out of memory building JSON' after the error object"; then
		assert_not_contains "$r: --json: no bogus 'out of memory' after the error" "out of memory" "$ERR"
	fi
done
assert_eq "the unmounted path was not created" no "$([ -e "$T/not-mounted" ] && echo yes || echo no)"
ss a sync --remote nogit
assert_contains "the closed git:// address is named" "127\.0\.0\.1" "$ERR"
ss a sync --remote nohttp
assert_contains "the closed http:// address is named" "127\.0\.0\.1" "$ERR"
assert_ok "local writes still work while remotes are down" a sql \
	"INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t3','sch-a','王五','初级')"

# all remotes at once: the bad ones fail, the good one (hub) still syncs
ss a sync
assert_eq "sync of all remotes: exit 1 because some failed" 1 "$RC"
assert_eq "three remotes reported failed" 3 "$(printf '%s\n' "$ERR" | grep -c '\[E_NET\]' || true)"
assert_contains "the hub was synced anyway: 2 entries sealed, pushed" "^hub: .*sealed 2; pushed 1 branch" "$OUT"
assert_eq "the hub holds sch-a's new tip" "$(git --git-dir="$T/a/exchange.git" rev-parse refs/heads/node/sch-a)" \
	"$(git --git-dir="$T/srv/hub.git" rev-parse refs/heads/node/sch-a)"

# ============================================================================
log "=== 2. the remote goes away mid-transfer"
mkdir -p "$T/net"
new_hub "$T/net/hub.git"
start_git_daemon "$T/net"
GPORT=$GIT_DAEMON_PORT
start_http_backend "$T/net"
HPORT=$HTTP_PORT
GURL="git://127.0.0.1:$GPORT/hub.git"
HURL="http://127.0.0.1:$HPORT/hub.git"
log "git daemon :$GPORT (pgid $GIT_DAEMON_PID), http :$HPORT (pgid $HTTP_PID)"

mk_node n/a sch-a git "$GURL" http "$HURL"
mk_node n/b sch-b http "$HURL"
mk_node n/c sch-c git "$GURL"
t0=$(now_ms)
ssx n/a sql "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<50000)
	INSERT INTO teacher(id,school_id,name,title,subject)
	SELECT printf('sch-a-%05d',x),'sch-a','教师'||x,'中级','语文' FROM c" >/dev/null
log "50,000 rows written in $(( $(now_ms) - t0 )) ms"
ssx n/b sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-b-t1','sch-b','李四','高级')" >/dev/null
ssx n/c sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-c-t1','sch-c','王五','中级')" >/dev/null
HA=$(state_hash n/a)

restart_git() { stop_server "$GIT_DAEMON_PID"; start_git_daemon_on "$GPORT"; }
restart_http() { stop_server "$HTTP_PID"; start_http_on "$HPORT"; }
# the same port again: the remotes' URLs stay valid
# serve_on LOG PORT CMD...: (re)start a server on PORT, which a killed one
# held a moment ago; wait while it lives until it listens (a busy machine can
# take seconds to start Python), start it again only if it died.
serve_on() {
	local logf=$1 port=$2 i until
	shift 2
	for i in $(seq 1 20); do
		_spawn "$logf" "$@"
		until=$(( $(date +%s) + 60 ))
		while kill -0 "$LAST_PID" 2>/dev/null && [ "$(date +%s)" -lt "$until" ]; do
			port_open "$port" && return 0
			sleep 0.05
		done
		stop_server "$LAST_PID"
		sleep 0.2
	done
	return 1
}
start_git_daemon_on() {
	serve_on "$T/git-daemon.$1.log" "$1" git daemon --reuseaddr --listen=127.0.0.1 --port="$1" \
		--export-all --enable=receive-pack --base-path="$T/net" "$T/net" || return 1
	GIT_DAEMON_PID=$LAST_PID
}
start_http_on() {
	serve_on "$T/http.$1.log" "$1" "$PY" "$LIB_DIR/http_backend.py" --root "$T/net" --port "$1" || return 1
	HTTP_PID=$LAST_PID
}

kills=0
for i in $(seq 1 "$ROUNDS"); do
	for remote in git http; do
		delay=$(( RANDOM % 1500 + 30 ))
		mode=$(( (i + ${#remote}) % 2 ))   # alternate: kill the server / kill the sync
		"$SSYNC_BIN" --home "$T/n/a" sync --remote "$remote" >"$T/kill.out" 2>"$T/kill.err" &
		spid=$!
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		if [ "$mode" = 0 ]; then
			what="server"
			if [ "$remote" = git ]; then stop_server "$GIT_DAEMON_PID"; else stop_server "$HTTP_PID"; fi
		else
			what="sync process"
			kill -9 "$spid" 2>/dev/null || true
		fi
		src=0
		wait "$spid" 2>/dev/null || src=$?
		kills=$((kills + 1))
		log "push round $i/$remote: killed the $what after ${delay} ms; sync exit $src $(head -c 160 "$T/kill.err" | tr '\n' ' ')"
		if [ "$src" -eq 141 ]; then
			if regression B9 "sync dies of SIGPIPE (exit 141, no message) when the server drops the link mid-push"; then
				fail "round $i/$remote: interrupted sync exits 1 with E_NET, not SIGPIPE (141)" "stderr: $(cat "$T/kill.err")"
			fi
		elif [ "$src" -ne 0 ] && [ "$src" -ne 137 ]; then
			assert_contains "round $i/$remote: an interrupted sync says E_NET/E_CANCELLED/E_CONFLICT" \
				'E_NET|E_CANCELLED|E_CONFLICT|E_CORRUPT' "$(cat "$T/kill.err")"
		fi
		[ "$mode" = 1 ] || { if [ "$remote" = git ]; then start_git_daemon_on "$GPORT"; else start_http_on "$HPORT"; fi; }
		assert_eq "round $i/$remote: a's state-hash unchanged by the interrupted sync" "$HA" "$(state_hash n/a)"
		assert_ok "round $i/$remote: local writes still work after the interruption" n/a sql \
			"UPDATE teacher SET tier=?1 WHERE id='sch-a-00001'" "r$i$remote"
		HA=$(state_hash n/a)
		log "  hub's node/sch-a now: $(git --git-dir="$T/net/hub.git" rev-parse -q --verify refs/heads/node/sch-a 2>/dev/null | cut -c1-12 || echo none)"
	done
done

# deterministic: a git:// server that takes the ref advertisement, reads 200
# bytes of the push and resets the connection
cat >"$T/dropper.py" <<'EOF2'
import os, socket, struct, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    n = int(c.recv(4), 16)
    req = c.recv(n - 4)
    if b"git-upload-pack" in req:
        c.sendall(b"0000")                      # an empty repository: nothing to fetch
    else:
        line = b"0" * 40 + b" capabilities^{}\0report-status delete-refs ofs-delta\n"
        c.sendall(b"%04x" % (len(line) + 4) + line + b"0000")
        c.recv(200)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
EOF2
_spawn "$T/dropper.log" "$PY" "$T/dropper.py" "$T/dropper.port"
for _ in $(seq 1 100); do [ -s "$T/dropper.port" ] && break; sleep 0.05; done
ssx n/a remote add dropper "git://127.0.0.1:$(cat "$T/dropper.port")/hub.git" >/dev/null
H=$(state_hash n/a)
ss n/a sync --remote dropper
assert_ne "link reset mid-push: sync exits non-zero" 0 "$RC"
if [ "$RC" -eq 1 ] || regression B9 "sync dies of SIGPIPE (exit 141, no message) when the server drops the link mid-push"; then
	assert_eq "link reset mid-push: exit 1 (not killed by SIGPIPE = 141)" 1 "$RC"
	assert_contains "link reset mid-push: stderr names the push and E_NET" "push to dropper.*E_NET" "$ERR"
fi
assert_eq "link reset mid-push: state-hash unchanged" "$H" "$(state_hash n/a)"
ssx n/a remote remove dropper >/dev/null

# a normal sync now completes over both transports
t0=$(now_ms)
assert_ok "after $kills interruptions a normal sync over git:// completes" n/a sync --remote git
assert_ok "and over http:// too" n/a sync --remote http
log "final push took $(( $(now_ms) - t0 )) ms"
assert_true "git fsck --strict of the hub is clean" quiet git --git-dir="$T/net/hub.git" fsck --strict --no-dangling --no-progress
assert_eq "hub's node/sch-a equals a's branch" "$(git --git-dir="$T/n/a/exchange.git" rev-parse refs/heads/node/sch-a)" \
	"$(git --git-dir="$T/net/hub.git" rev-parse refs/heads/node/sch-a 2>/dev/null)"
assert_eq "no lock files left in the hub" "" "$(find "$T/net/hub.git" -name '*.lock')"
assert_eq "no lock files left in a's exchange repository" "" "$(find "$T/n/a/exchange.git" -name '*.lock')"

# the other direction: b (http) and c (git) fetch the 50,000-row backlog while
# their server or their own sync process dies (round 1 kills the syncs,
# round 2 the servers)
for i in $(seq 1 "$ROUNDS"); do
	for n in b c; do
		delay=$(( RANDOM % 2500 + 100 ))
		"$SSYNC_BIN" --home "$T/n/$n" sync >"$T/kill.out" 2>"$T/kill.err" &
		spid=$!
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		if [ $(( (i + ${#n}) % 2 )) = 0 ]; then
			what="sync process"
			kill -9 "$spid" 2>/dev/null || true
		else
			what="server"
			if [ "$n" = c ]; then stop_server "$GIT_DAEMON_PID"; else stop_server "$HTTP_PID"; fi
		fi
		src=0
		wait "$spid" 2>/dev/null || src=$?
		log "fetch round $i/$n: killed the $what after ${delay} ms; sync exit $src $(head -c 160 "$T/kill.err" | tr '\n' ' ')"
		if [ "$what" = server ]; then
			if [ "$n" = c ]; then start_git_daemon_on "$GPORT"; else start_http_on "$HPORT"; fi
		fi
		assert_ok "fetch round $i/$n: log on $n verifies after the interruption" "n/$n" log
	done
done

t0=$(now_ms)
for n in b c b c a; do
	ss "n/$n" sync
	assert_eq "convergence: sync of $n exits 0" 0 "$RC"
	[ "$RC" = 0 ] || log "sync of $n said: $(printf '%s' "$ERR" | head -c 400 | tr '\n' ' ') locks: $(find "$T/net/hub.git" "$T/n/$n/exchange.git" -name '*.lock' | tr '\n' ' ')"
done
log "convergence rounds took $(( $(now_ms) - t0 )) ms"
H=$(state_hash n/a)
assert_all_equal "state-hashes of a, b, c converge" "$H" "$(state_hash n/b)" "$(state_hash n/c)"
assert_eq "b holds all 50,000 of a's rows" 50000 "$(ssx n/b sql "SELECT count(*) AS n FROM teacher WHERE school_id='sch-a'" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])')"
for n in a b c; do
	assert_ok "log on $n verifies" "n/$n" log
	assert_eq "quarantine of $n is empty" 0 "$(quarantine_count "n/$n")"
done
assert_true "git fsck --strict of the hub is clean after convergence" quiet git --git-dir="$T/net/hub.git" fsck --strict --no-dangling --no-progress

summary
