# Shared helpers for tests/integration/t_*.sh (sourced, bash).
#
# Environment (set by ctest; defaults for manual runs from this directory):
#   SSYNC_BIN        the schoolsync binary (default $SSYNC_BUILD/schoolsync,
#                    else ../../build/schoolsync relative to this file)
#   SSYNC_SRC        the source tree          SSYNC_BUILD  the build tree
#   SSYNC_KNOWN_BUGS=1  also run the assertions marked as known product bugs
#                    (off by default they are counted as "known", not failed)
#   SSYNC_VERBOSE=1  echo every schoolsync command and its stderr
#
# Usage in a test:   . "$(dirname "$0")/lib.sh"; setup_tmp; ...; summary
# Only loopback addresses are used. Servers are started in their own process
# group and killed (by that group's id) from the EXIT trap.

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SSYNC_SRC:=$(cd "$LIB_DIR/../.." && pwd)}"
if [ -z "${SSYNC_BIN:-}" ]; then
	if [ -n "${SSYNC_BUILD:-}" ]; then
		SSYNC_BIN=$SSYNC_BUILD/schoolsync
	else
		SSYNC_BIN=$LIB_DIR/../../build/schoolsync
	fi
fi
if [ ! -x "$SSYNC_BIN" ]; then
	echo "lib.sh: no schoolsync binary at $SSYNC_BIN (set SSYNC_BIN or SSYNC_BUILD)" >&2
	exit 2
fi
SSYNC_BIN=$(cd "$(dirname "$SSYNC_BIN")" && pwd)/$(basename "$SSYNC_BIN")
for tool in git python3 timeout; do
	command -v "$tool" >/dev/null || { echo "lib.sh: $tool is required" >&2; exit 2; }
done

# the real interpreter, once (a pyenv shim costs ~0.5 s per call); ctest
# passes the one CMake resolved
PY=${SSYNC_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
export SCHOOLSYNC_ACTOR=clerk          # deterministic actor in every entry
# Tests of sync and trust write minimal rows with raw SQL (no staff number,
# no birth year): the domain checks of 'schoolsync sql' are t_everyday's.
export SCHOOLSYNC_SQL_UNCHECKED=1
export GIT_CONFIG_NOSYSTEM=1           # the git CLI used by tests ignores host config
export GIT_AUTHOR_NAME=attacker GIT_AUTHOR_EMAIL=attacker@127.0.0.1
export GIT_COMMITTER_NAME=attacker GIT_COMMITTER_EMAIL=attacker@127.0.0.1
unset SCHOOLSYNC_HOME http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy || true
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

PASS=0
FAIL=0
KNOWN=0
FAILED_NAMES=()
KNOWN_NAMES=()
SERVER_PGIDS=()
T=
CMD_TIMEOUT=${SSYNC_CMD_TIMEOUT:-120}
T_START=$(date +%s)

SUMMARY_DONE=0
_cleanup() {
	local rc=$? pg
	if [ "$SUMMARY_DONE" = 0 ]; then
		# aborted before summary (set -e, or a failed setup step in ssx)
		if [ -n "$T" ] && [ -s "$T/.aborted" ]; then
			fail "aborted: $(head -c 600 "$T/.aborted")"
		else
			fail "aborted: script exited with status $rc before its summary"
		fi
		summary || true
		[ "$rc" -ne 0 ] || rc=1
	fi
	for pg in "${SERVER_PGIDS[@]}"; do
		kill -TERM -- "-$pg" 2>/dev/null || true
	done
	sleep 0.2
	for pg in "${SERVER_PGIDS[@]}"; do
		kill -KILL -- "-$pg" 2>/dev/null || true
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ -n "${SSYNC_KEEP_TMP:-}" ]; then
			echo "kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

# setup_tmp: the test's own scratch dir in $T, removed (and servers killed) on exit.
setup_tmp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/ssync-it.XXXXXX")
	trap _cleanup EXIT
	trap 'exit 130' INT TERM
}

log() { printf '# [%3ds] %s\n' $(( $(date +%s) - T_START )) "$*"; }

pass() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$1"; }
fail() {
	FAIL=$((FAIL + 1))
	FAILED_NAMES+=("$1")
	printf 'FAIL %s\n' "$1"
	shift
	local l
	for l in "$@"; do printf '     %s\n' "$l"; done
}

# known_bug ID DESCRIPTION: the following assertion documents a known product
# bug. Returns 0 (run it) when SSYNC_KNOWN_BUGS=1, else 1 (count it, skip it).
#   if known_bug B1 "conflicts --json prints []"; then assert_...; fi
known_bug() {
	if [ "${SSYNC_KNOWN_BUGS:-0}" = 1 ]; then
		printf 'note running known-bug check %s: %s\n' "$1" "$2"
		return 0
	fi
	KNOWN=$((KNOWN + 1))
	KNOWN_NAMES+=("$1: $2")
	printf 'skip [known bug %s] %s (SSYNC_KNOWN_BUGS=1 to run)\n' "$1" "$2"
	return 1
}

# regression ID DESC: guards a bug that was found and fixed; always runs.
regression() { return 0; }

# summary: the final line "N passed, M failed"; exit status 1 on any failure.
summary() {
	local n
	SUMMARY_DONE=1
	if [ "$KNOWN" -gt 0 ]; then
		printf '%s\n' "${KNOWN_NAMES[@]}" | sort -u | sed 's/^/# known bug not run: /' 
	fi
	if [ "$FAIL" -gt 0 ]; then
		for n in "${FAILED_NAMES[@]}"; do printf '# failed: %s\n' "$n"; done
	fi
	printf '# %s: %d s\n' "$(basename "$0")" $(( $(date +%s) - T_START ))
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

# --- running schoolsync -------------------------------------------------------
# ss HOME ARGS...: run schoolsync on node home $T/HOME (or an absolute path).
# Sets OUT, ERR (file contents) and RC; never aborts the script.
OUT= ERR= RC=0
_home() { case $1 in /*) echo "$1" ;; *) echo "$T/$1" ;; esac; }
# _slurp VAR FILE: FILE's text as $(cat FILE) gives it (trailing newlines
# dropped) without starting a process: on a loaded machine each one costs
# a good part of a second, and ss runs thousands of times per suite.
_slurp() {
	local _s=
	IFS= read -r -d '' _s <"$2" || true
	while [[ $_s == *$'\n' ]]; do _s=${_s%$'\n'}; done
	printf -v "$1" '%s' "$_s"
}
ss() {
	local h=$1
	case $h in /*) ;; *) h=$T/$h ;; esac
	shift
	RC=0
	timeout -k 5 "$CMD_TIMEOUT" "$SSYNC_BIN" --home "$h" "$@" >"$T/.out" 2>"$T/.err" || RC=$?
	_slurp OUT "$T/.out"
	_slurp ERR "$T/.err"
	if [ -n "${SSYNC_VERBOSE:-}" ]; then
		printf '  $ schoolsync --home %s %s  -> %d\n' "$h" "$*" "$RC" >&2
		[ -z "$ERR" ] || printf '%s\n' "$ERR" | sed 's/^/    stderr: /' >&2
	fi
	return 0
}

# ss_at MS HOME ARGS...: like ss, but with the test build of schoolsync
# (tests/CMakeLists.txt: schoolsync-testclock) whose clock reads MS
# milliseconds since the epoch. The real program ignores the variable.
: "${SSYNC_TESTCLOCK_BIN:=$(dirname "$SSYNC_BIN")/tests/schoolsync-testclock}"
ss_at() {
	local ms=$1 h=$2
	case $h in /*) ;; *) h=$T/$h ;; esac
	shift 2
	if [ ! -x "$SSYNC_TESTCLOCK_BIN" ]; then
		echo "lib.sh: no schoolsync-testclock at $SSYNC_TESTCLOCK_BIN (set SSYNC_TESTCLOCK_BIN)" | tee "$T/.aborted" >&2
		exit 2
	fi
	RC=0
	SCHOOLSYNC_FAKE_TIME_MS=$ms timeout -k 5 "$CMD_TIMEOUT" "$SSYNC_TESTCLOCK_BIN" --home "$h" "$@" \
		>"$T/.out" 2>"$T/.err" || RC=$?
	_slurp OUT "$T/.out"
	_slurp ERR "$T/.err"
	return 0
}

# ssx HOME ARGS...: run schoolsync, print its stdout, require exit 0. A failing
# step aborts the script (it usually runs inside $(...): with set -e the
# failed substitution ends the script, and the EXIT trap reports it).
ssx() {
	ss "$@"
	if [ "$RC" -ne 0 ]; then
		printf 'schoolsync --home %s %s exited %d: %s\n' "$1" "${*:2}" "$RC" "$ERR" | tee "$T/.aborted" >&2
		exit 1
	fi
	printf '%s' "$OUT"
}

# mk_node HOME NODE_ID [REMOTE_NAME URL]...: init a node home in $T/HOME.
mk_node() {
	local home=$1 id=$2
	shift 2
	mkdir -p "$(dirname "$(_home "$home")")"
	ssx "$home" init --node "$id" >/dev/null
	while [ $# -ge 2 ]; do
		ssx "$home" remote add "$1" "$2" >/dev/null
		shift 2
	done
}

state_hash() { ssx "$1" state-hash; }

# sync_ok HOME [REMOTE]: sync (all remotes, or one) with --json, require exit 0;
# prints the report (an array without REMOTE, an object with it). An unexpected
# exit 3 (entries quarantined or held) fails the test.
sync_ok() { _sync_expect "0" "$@"; }

# sync_attn HOME [REMOTE]: like sync_ok, but exit 3 is accepted too: for the
# adversarial tests that provoke quarantined or held entries on purpose and
# check the report's counts themselves.
sync_attn() { _sync_expect "0 3" "$@"; }

_sync_expect() {
	local ok=$1 c
	shift
	if [ $# -ge 2 ]; then ss "$1" sync --remote "$2" --json; else ss "$1" sync --json; fi
	for c in $ok; do
		if [ "$RC" -eq "$c" ]; then
			printf '%s' "$OUT"
			return 0
		fi
	done
	printf '%s:%s: schoolsync --home %s sync exited %d (expected %s): %s %s\n' "${BASH_SOURCE[2]##*/}" "${BASH_LINENO[1]}" "$1" "$RC" "$ok" "$ERR" "${OUT:0:400}" | tee "$T/.aborted" >&2
	exit 1
}

# jget JSON EXPR: evaluate a python expression on parsed JSON bound to j.
jget() { "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# sync_field JSON FIELD: sum of FIELD over a sync --json report (object or array)
sync_field() {
	"$PY" -c 'import json,sys
try:
    j=json.loads(sys.argv[1]); j=j if isinstance(j,list) else [j]
    print(" ".join(str(sum(r[f] for r in j)) for f in sys.argv[2:]))
except Exception as e:
    print("unparsable-report")' "$@"
}

# --- districts ------------------------------------------------------------------
# pubkey_of HOME NODE [DISTRICT]: init HOME as NODE (district d1), print its public key
pubkey_of() { ssx "$1" --json init --node "$2" --district "${3:-d1}" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])'; }

# district_setup SCHOOL...: the hub (home h, node hub, remote hub = $T/hub.git, a
# bare repo) inits district d1 with the root key $ROOT (sets RK, its public key);
# each SCHOOL x (home x, node sch-x) is enrolled for school sch-x, joins, and has
# the remote hub. Nothing is synced yet.
district_setup() {
	local s P
	new_hub "$T/hub.git"
	ssx h init --node hub --district d1 >/dev/null
	ssx h remote add hub "$T/hub.git" >/dev/null
	RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
	for s in "$@"; do
		P=$(pubkey_of "$s" "sch-$s")
		ssx "$s" remote add hub "$T/hub.git" >/dev/null
		ssx "$s" join --district-pubkey "$RK" >/dev/null
		ssx h district enroll "sch-$s" --role school --school "sch-$s" --pubkey "$P" --root-key "$ROOT" >/dev/null
	done
}

# --- private archives -----------------------------------------------------------
# jf KEY: member KEY of the JSON object on stdin
jf() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# archive_name HOME ID: the archive's name as HOME reads it ("[encrypted]" if it cannot)
archive_name() { ssx "$1" --json student-archive show "$2" | jf name; }
# archive_kid HOME ID [COLUMN]: the data key id of the row's cell (enc1:<kid>:...)
archive_kid() { ssx "$1" sql "SELECT ${3:-name} FROM student_archive WHERE id='$2'" --json | "$PY" -c 'import json,sys; print(list(json.load(sys.stdin)[0].values())[0].split(":")[1])'; }

# --- assertions ---------------------------------------------------------------
assert_eq() { # NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected: ${2:0:600}" "actual:   ${3:0:600}"; fi
}
assert_ne() { # NAME UNEXPECTED ACTUAL
	if [ "$2" != "$3" ]; then pass "$1"; else fail "$1" "both are: ${2:0:600}"; fi
}
assert_true() { # NAME COMMAND...   (COMMAND must exit 0)
	local n=$1
	shift
	if "$@"; then pass "$n"; else fail "$n" "command failed: $*"; fi
}
# quiet CMD...: run CMD with its output discarded (for assert_true)
quiet() { "$@" >/dev/null 2>&1; }
# assert_contains NAME NEEDLE(extended regex) HAYSTACK (a here-string, not
# printf | grep -q: grep leaving at the first match could kill printf with
# SIGPIPE, and pipefail turned the match into a failure)
assert_contains() {
	if grep -Eq -- "$2" <<<"$3"; then pass "$1"; else fail "$1" "no /$2/ in:" "${3:0:800}"; fi
}
assert_not_contains() {
	if grep -Eq -- "$2" <<<"$3"; then fail "$1" "unexpected /$2/ in:" "${3:0:800}"; else pass "$1"; fi
}
# assert_ok NAME HOME ARGS...: schoolsync exits 0
assert_ok() {
	local n=$1
	shift
	ss "$@"
	if [ "$RC" -eq 0 ]; then pass "$n"; else fail "$n" "exit $RC" "stderr: ${ERR:0:600}"; fi
}
# assert_fail NAME HOME ARGS...: schoolsync exits non-zero (OUT/ERR/RC kept for greps)
assert_fail() {
	local n=$1
	shift
	ss "$@"
	if [ "$RC" -ne 0 ]; then pass "$n"; else fail "$n" "exited 0, expected a failure" "stdout: ${OUT:0:400}"; fi
}
# assert_all_equal NAME VALUE...: all values identical (and not empty)
assert_all_equal() {
	local n=$1 first=$2 v ok=1
	shift
	[ -n "$first" ] || ok=0
	for v in "$@"; do [ "$v" == "$first" ] || ok=0; done
	if [ $ok = 1 ]; then pass "$n"; else fail "$n" "values:" "$@"; fi
}

# quarantine_codes HOME: "node seq code" lines of the quarantine, sorted
quarantine_codes() {
	ssx "$1" quarantine --json | "$PY" -c 'import json,sys
for q in json.load(sys.stdin): print(q["node"], q["seq"], q["code"])' | sort
}
quarantine_count() { ssx "$1" quarantine --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# --- servers ------------------------------------------------------------------
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# a port that nothing listens on (bound then released; nothing else here grabs it)
closed_port() {
	local p
	p=$(free_port)
	while port_open "$p"; do p=$(free_port); done
	echo "$p"
}

# _spawn LOGFILE CMD...: start CMD in a new session (own process group);
# prints its pid = pgid. Remembered for the EXIT trap.
_spawn() {
	local logf=$1
	shift
	setsid "$@" >"$logf" 2>&1 </dev/null &
	local pid=$!
	SERVER_PGIDS+=("$pid")
	LAST_PID=$pid
}

# stop_server PGID: kill one server (and its children) we started.
stop_server() {
	kill -KILL -- "-$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# start_git_daemon BASEDIR: git daemon on 127.0.0.1 serving BASEDIR (push
# enabled). Sets GIT_DAEMON_PORT, GIT_DAEMON_PID; URL: git://127.0.0.1:$GIT_DAEMON_PORT/<repo>
start_git_daemon() {
	local base=$1 try p i
	for try in 1 2 3 4 5; do
		p=$(free_port)
		_spawn "$T/git-daemon.$p.log" git daemon --reuseaddr --listen=127.0.0.1 --port="$p" \
			--export-all --enable=receive-pack --informative-errors --base-path="$base" "$base"
		for i in $(seq 1 100); do
			if port_open "$p"; then
				GIT_DAEMON_PORT=$p
				GIT_DAEMON_PID=$LAST_PID
				return 0
			fi
			kill -0 "$LAST_PID" 2>/dev/null || break
			sleep 0.05
		done
		stop_server "$LAST_PID"
	done
	echo "start_git_daemon: could not start git daemon" >&2
	return 1
}

# start_http_backend ROOT: smart HTTP (git http-backend via http_backend.py) on
# 127.0.0.1. Pushing needs http.receivepack=true in each repo (enable_http_push).
# Sets HTTP_PORT, HTTP_PID; URL: http://127.0.0.1:$HTTP_PORT/<repo>
start_http_backend() {
	local root=$1 pf i
	pf=$T/.http-port.$RANDOM$RANDOM
	_spawn "$pf.log" "$PY" "$LIB_DIR/http_backend.py" --root "$root" --port-file "$pf" \
		${SSYNC_VERBOSE:+--verbose}
	for i in $(seq 1 200); do
		if [ -s "$pf" ]; then
			HTTP_PORT=$(cat "$pf")
			HTTP_PID=$LAST_PID
			if port_open "$HTTP_PORT"; then return 0; fi
		fi
		kill -0 "$LAST_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "start_http_backend: server did not come up:" >&2
	cat "$pf.log" >&2 || true
	return 1
}

enable_http_push() { git --git-dir="$1" config http.receivepack true; }

# new_hub PATH: a bare hub repository, push over http allowed
new_hub() {
	git init -q --bare "$1"
	enable_http_push "$1"
}
