# Shared by tests/integration/t_daemon_*.sh (sourced, not run by ctest).
# Needs: SSYNC_BIN (schoolsync), SSYNC_DAEMON (schoolsyncd), SSYNC_SRC.
: "${SSYNC_BIN:?set SSYNC_BIN to the schoolsync binary}"
: "${SSYNC_DAEMON:?set SSYNC_DAEMON to the schoolsyncd binary}"
: "${SSYNC_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

T=$(mktemp -d /tmp/ssd.XXXXXX)
PASSED=0
FAILED=0
DAEMON_PIDS=()
CLEANUP_HOOKS=()

cleanup() {
	local p h
	for h in "${CLEANUP_HOOKS[@]}"; do eval "$h" || true; done
	for p in "${DAEMON_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	# A sync child runs in its own session; its daemon records it here.
	for h in "$T"/*/daemon.child; do
		[ -f "$h" ] && p=$(cat "$h") && [ -n "$p" ] && kill -9 -- "-$p" 2>/dev/null || true
	done
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; [ -n "${LOGF:-}" ] && [ -f "$LOGF" ] && tail -20 "$LOGF" | sed 's/^/    | /'; }
check() {
	local what=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "$what"; else fail "$what"; sed 's/^/    > /' "$T/check.out" | tail -10; fi
}
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: poll every 0.1 s until CMD succeeds.
wait_for() {
	local limit=$1 end; shift
	end=$(( $(now_ms) + limit * 1000 ))
	while [ "$(now_ms)" -lt "$end" ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	"$@" >/dev/null 2>&1
}

# new_home NAME: a fresh node home $T/NAME with node id NAME.
new_home() {
	"$SSYNC_BIN" --home "$T/$1" init --node "$1" >/dev/null
	echo "$T/$1"
}

# start_daemon HOME LOG: start schoolsyncd in the background; sets DPID.
start_daemon() {
	"$SSYNC_DAEMON" --home "$1" >>"$2" 2>&1 &
	DPID=$!
	DAEMON_PIDS+=("$DPID")
	wait_for 10 test -S "$1/control.sock" || { echo "daemon for $1 did not come up"; tail "$2"; return 1; }
}

# stop_daemon PID [SECONDS]: SIGTERM and wait; returns the exit status.
stop_daemon() {
	local pid=$1 limit=${2:-30} i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then echo "daemon $pid ignored SIGTERM"; kill -9 "$pid"; return 99; fi
	wait "$pid"
}

status_json() { "$SSYNC_BIN" --home "$1" status --json; }
# jq is not assumed: small JSON reads go through the status command's own fields.
# jget JSON KEY: the first scalar value of KEY in JSON (no jq on the machines).
jget() {
	grep -o "\"$2\": *[^,}]*" <<<"$1" | head -1 | sed 's/^[^:]*: *//; s/"//g; s/[[:space:]]*$//'
}

# A fake schoolsync for scheduling tests: real for everything but
# `remote list` and `sync`, whose behaviour files in $FAKE_STATE decide. Its
# reports and errors are in the documented forms (docs/CONTROL.md).
#   $FAKE_STATE/remotes.json      what `remote list --json` prints
#   $FAKE_STATE/mode.NAME         ok | fail | hang | hang-hard | slow:N
#   $FAKE_STATE/attempts.NAME     one line per sync attempt: epoch ms
make_fake_cli() {
	local f=$T/fake-schoolsync
	mkdir -p "$T/fake"
	cat >"$f" <<FAKE
#!/usr/bin/env bash
S=\${FAKE_STATE:-$T/fake}
args=("\$@")
home=""
i=0
while [ \$i -lt \${#args[@]} ]; do
	case "\${args[\$i]}" in
	--home) home=\${args[\$((i+1))]}; i=\$((i+2)); continue;;
	esac
	break
done
cmd=\${args[\$i]:-}
if [ "\$cmd" = remote ] && [ "\${args[\$((i+1))]:-}" = list ]; then
	cat "\$S/remotes.json" 2>/dev/null || echo '[{"name":"hub","url":"fake://hub"}]'
	exit 0
fi
if [ "\$cmd" = sync ]; then
	r=\${args[\$((i+2))]:-hub}
	date +%s%3N >>"\$S/attempts.\$r"
	echo \$\$ >"\$S/pid.\$r"
	mode=\$(cat "\$S/mode.\$r" 2>/dev/null || echo ok)
	case "\$mode" in
	ok) echo '{"remote":"'\$r'","sealed":0,"received":0,"applied":0,"duplicates":0,"quarantined":0,"held":0,"pushed_refs":0,"rewritten_refs":0,"conflicts":0,"seconds":0.01}'; exit 0;;
	fail) echo 'progress noise on stderr' >&2
	      echo '{"error":{"code":"E_NET","status":-13,"message":"cannot reach '\$r': connection refused"}}' >&2; exit 1;;
	hang) exec sleep 1000;;
	hang-hard) trap '' TERM; sleep 1000 & wait; sleep 1000;;
	slow:*) sleep \${mode#slow:}; echo '{"remote":"'\$r'","sealed":1,"received":0,"applied":0,"duplicates":0,"quarantined":0,"held":0,"pushed_refs":1,"rewritten_refs":0,"conflicts":0,"seconds":1}'; exit 0;;
	esac
fi
exec "$SSYNC_BIN" "\$@"
FAKE
	chmod +x "$f"
	echo "$f"
}

GIT_DAEMON=/usr/lib/git-core/git-daemon
# start_git_daemon BASE PORT [ADDR]: serve the bare repos in BASE over git://
# (push enabled); sets GDPID.
start_git_daemon() {
	local addr=${3:-127.0.0.1}
	"$GIT_DAEMON" --export-all --enable=receive-pack --reuseaddr --base-path="$1" \
		--listen="$addr" --port="$2" "$1" >>"$T/git-daemon.log" 2>&1 &
	GDPID=$!
	wait_for 5 port_open "$addr" "$2" || { echo "git daemon did not start"; return 1; }
}
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
free_port() { echo $(( 20000 + (RANDOM % 20000) )); }

# build_netproxy: compile tests/integration/netproxy.c into $T/netproxy.
build_netproxy() {
	${CC:-cc} -O2 -o "$T/netproxy" "$SSYNC_SRC/tests/integration/netproxy.c"
}

# count_rows HOME SQL-WHERE: rows of zone matching.
count_rows() {
	local out
	out=$("$SSYNC_BIN" --home "$1" --json sql "SELECT count(*) AS n FROM zone WHERE $2")
	jget "$out" n
}
state_hash() { "$SSYNC_BIN" --home "$1" state-hash; }
pending_of() { jget "$("$SSYNC_BIN" --home "$1" --json status)" pending; }
