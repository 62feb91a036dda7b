#!/usr/bin/env bash
# kill -9 of schoolsyncd at random moments, 20 times (SSYNC_KILL_TRIALS; 300 with
# SSYNC_LONG=1, the soak_daemon target), while
# a clerk keeps writing: no acknowledged write is lost, every restart takes
# the lock at once, the orphaned sync child is stopped by the next daemon,
# and at the end both schools converge with the hub.
set -euo pipefail
source "$(dirname "$0")/daemon_lib.sh"

TRIALS=${SSYNC_KILL_TRIALS:-20}
[ -n "${SSYNC_LONG:-}" ] && TRIALS=${SSYNC_KILL_TRIALS:-300}
mkdir -p "$T/srv"
git init -q --bare "$T/srv/hub.git"
PORT=$(free_port)
start_git_daemon "$T/srv" "$PORT"
CLEANUP_HOOKS+=('kill $GDPID 2>/dev/null')
A=$(new_home sch-a)
B=$(new_home sch-b)
CONF='{"sync_interval_s": 1, "debounce_s": 0.1, "poll_s": 0.1, "backoff_base_s": 0.2, "backoff_max_s": 1, "deadline_s": 10, "kill_grace_s": 1, "stop_grace_s": 5}'
for h in "$A" "$B"; do
	echo "$CONF" >"$h/config.json"
	"$SSYNC_BIN" --home "$h" remote add hub "git://127.0.0.1:$PORT/hub.git" >/dev/null
done
LOGF=$T/a.log
start_daemon "$B" "$T/b.log"; DB=$DPID

# The clerk: one INSERT after another; an id goes to acked only after the
# command said it committed.
: >"$T/acked"
(
	i=0
	while [ ! -f "$T/stop-writer" ]; do
		i=$((i + 1))
		if "$SSYNC_BIN" --home "$A" sql "INSERT INTO zone(id,name) VALUES('k$i','kill9')" >/dev/null 2>&1; then
			echo "k$i" >>"$T/acked"
		fi
		sleep 0.0$((RANDOM % 10))
	done
) &
WRITER=$!
CLEANUP_HOOKS+=('touch $T/stop-writer; kill $WRITER 2>/dev/null')

refused=0 mid_sync=0
t0=$(now_ms)
for trial in $(seq 1 "$TRIALS"); do
	"$SSYNC_DAEMON" --home "$A" >>"$LOGF" 2>&1 &
	DA=$!
	DAEMON_PIDS+=("$DA")
	sleep "0.$(( 1 + RANDOM % 9 ))$(( RANDOM % 10 ))"
	if ! kill -0 "$DA" 2>/dev/null; then refused=$((refused + 1)); continue; fi
	[ -f "$A/daemon.child" ] && mid_sync=$((mid_sync + 1))
	kill -9 "$DA"
	wait "$DA" 2>/dev/null || true
done
t1=$(now_ms)
touch "$T/stop-writer"
wait "$WRITER" || true
echo "    $TRIALS kills in $(( (t1 - t0) / 1000 )) s; $mid_sync landed while a sync child ran; $(wc -l <"$T/acked") writes acknowledged"
check "every restart started (no stale lock): $refused refused" test "$refused" -eq 0
check "no 'already runs' refusal in the log" sh -c "! grep -q 'already runs' '$LOGF'"

# Every acknowledged write is in the replica (kill -9 never touches the clerk's commits).
missing=0
acked=$(wc -l <"$T/acked")
check "all $acked acknowledged writes present at a" test "$(count_rows "$A" "name='kill9'")" -ge "$acked"
check "a's own log verifies" "$SSYNC_BIN" --home "$A" log --node sch-a

# The next start resumes: pending goes to 0 and b receives everything.
start_daemon "$A" "$LOGF"; DA=$DPID
converged() { [ "$(pending_of "$A")" = 0 ] && [ "$(state_hash "$A")" = "$(state_hash "$B")" ]; }
wait_for 60 converged || true
check "after the last start: a pushed everything and b converged" converged
locks=$(find "$A/exchange.git" "$T/srv/hub.git" -name '*.lock' 2>/dev/null || true)
check "no stale git lock files left by killed sync processes${locks:+: $(echo $locks)}" test -z "$locks"
check "b holds every acknowledged write" test "$(count_rows "$B" "name='kill9'")" -ge "$acked"
check "exchange repository fsck clean" git --git-dir="$A/exchange.git" fsck --no-progress
check "hub repository fsck clean" git --git-dir="$T/srv/hub.git" fsck --no-progress
set +e; stop_daemon "$DA" 20; ra=$?; stop_daemon "$DB" 20; rb=$?; set -e
check "clean exits" test "$ra" -eq 0 -a "$rb" -eq 0
finish
