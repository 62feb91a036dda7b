#!/usr/bin/env bash
# schoolsyncd's scheduling and supervision, with a fake `schoolsync` whose
# sync succeeds, fails, hangs or is slow on demand (SCHOOLSYNC_CLI): the lock,
# config errors, socket permissions, debounce after a local write, backoff
# with growing delays and reset, the hard deadline (SIGTERM, then SIGKILL),
# SIGHUP reload, SIGTERM during a round, a daemon killed -9 leaving a child.
set -euo pipefail
source "$(dirname "$0")/daemon_lib.sh"

FAKE=$(make_fake_cli)
export SCHOOLSYNC_CLI=$FAKE
export FAKE_STATE=$T/fake
H=$(new_home sch-a)
LOGF=$T/d.log

attempts() { [ -f "$FAKE_STATE/attempts.hub" ] && wc -l <"$FAKE_STATE/attempts.hub" || echo 0; }
attempts_gt() { [ "$(attempts)" -gt "$1" ]; }
attempts_ge() { [ "$(attempts)" -ge "$1" ]; }

# --- config: a bad file names line and column, and the daemon refuses to start
printf '{\n  "sync_interval_s": 5,\n  "debounce_s": ,\n}\n' >"$H/config.json"
set +e
out=$("$SSYNC_DAEMON" --home "$H" 2>&1); rc=$?
set -e
check "bad config refused with line:column" test "$rc" -eq 1 -a -n "$(grep -E 'config.json:3:[0-9]+' <<<"$out")"
echo '{"deadline_s": "soon"}' >"$H/config.json"
set +e; out=$("$SSYNC_DAEMON" --home "$H" --check-config 2>&1); rc=$?; set -e
check "wrong type names the key" test "$rc" -eq 1 -a -n "$(grep deadline_s <<<"$out")"

# --- unsafe home permissions are refused
echo '{"sync_interval_s": 3600, "debounce_s": 0.5, "poll_s": 0.2, "backoff_base_s": 0.4, "backoff_max_s": 3.2, "deadline_s": 2, "kill_grace_s": 1, "stop_grace_s": 3, "log_level": "debug"}' >"$H/config.json"
chmod 777 "$H"
set +e; timeout 10 "$SSYNC_DAEMON" --home "$H" >"$T/perm.log" 2>&1; rc=$?; set -e
check "group/world-writable home refused" test "$rc" -eq 1 -a -n "$(grep 'unsafe permissions' "$T/perm.log")"
chmod 700 "$H"

# --- no daemon: status still works, sync --now says there is none
set +e; out=$("$SSYNC_BIN" --home "$H" status 2>&1); rc=$?; set -e
check "status without daemon" test "$rc" -eq 0 -a -n "$(grep 'daemon: not running' <<<"$out")"
set +e; out=$("$SSYNC_BIN" --home "$H" sync --now 2>&1); rc=$?; set -e
check "sync --now without daemon fails clearly" test "$rc" -eq 1 -a -n "$(grep 'no schoolsyncd runs' <<<"$out")"

# --- start; socket is owner-only; a second daemon refuses
start_daemon "$H" "$LOGF"
D1=$DPID
check "control socket is srwx------" test "$(stat -c %A "$H/control.sock")" = "srwx------"
wait_for 5 attempts_ge 1 || true
check "first round at start" test "$(attempts)" -ge 1
set +e; out=$(timeout 10 "$SSYNC_DAEMON" --home "$H" 2>&1); rc=$?; set -e
check "second daemon on the same home refuses" test "$rc" -eq 1 -a -n "$(grep 'already runs' <<<"$out")"
check "first daemon unaffected" kill -0 "$D1"

# --- a local write triggers a round within debounce + poll (+ margin)
n0=$(attempts)
t0=$(now_ms)
"$SSYNC_BIN" --home "$H" sql "INSERT INTO zone(id,name) VALUES('z1','崇西')" >/dev/null
wait_for 5 attempts_gt "$n0" || true
t1=$(tail -1 "$FAKE_STATE/attempts.hub")
check "sync after a local write within 2 s (took $((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000 -a $((t1 - t0)) -ge 400
# several quick writes: one round, not one per write. On a loaded machine
# one write (a whole CLI process) can take longer than the debounce, and
# then the writes are no burst: every gap longer than debounce - poll
# (0.3 s) may legitimately start a round of its own. So: exactly one round
# when the writes came quickly, else at most one more per such gap (the
# debounce arithmetic itself is test_sched's, on an injected clock).
n0=$(attempts)
prev=0; slow_gaps=0; gaps=""
for i in 1 2 3 4; do
	"$SSYNC_BIN" --home "$H" sql "INSERT INTO zone(id,name) VALUES('q$i','x')" >/dev/null
	t=$(now_ms)
	if [ "$prev" -gt 0 ]; then
		gaps="$gaps $((t - prev))"
		[ $((t - prev)) -lt 300 ] || slow_gaps=$((slow_gaps + 1))
	fi
	prev=$t
	sleep 0.1
done
sleep 1.5
rounds=$(( $(attempts) - n0 ))
check "a burst of writes is debounced into one round ($rounds; gaps between writes:$gaps ms)" \
	test "$rounds" -ge 1 -a "$rounds" -le $((1 + slow_gaps))

# --- unreachable: growing delays with jitter, capped; status shows it
echo fail >"$FAKE_STATE/mode.hub"
: >"$FAKE_STATE/attempts.hub"
out=$("$SSYNC_BIN" --home "$H" --json sync --now || true)
wait_for 10 attempts_ge 5 || true
mapfile -t ts <"$FAKE_STATE/attempts.hub"
gaps=()
for ((i = 1; i < ${#ts[@]}; i++)); do gaps+=($(( ts[i] - ts[i-1] ))); done
echo "    retry gaps (ms): ${gaps[*]}"
# equal jitter: gap n in [d/2, d] with d = 0.4 * 2^(n-1) s (+ process start)
check "retries thin out (gap 3 > gap 1)" test "${gaps[2]}" -gt "${gaps[0]}"
check "first retry within [200, 600] ms" test "${gaps[0]}" -ge 180 -a "${gaps[0]}" -le 700
s=$(status_json "$H")
check "status: state backoff" test "$(jget "$s" state)" = backoff
check "status: last error E_NET with the message" test -n "$(grep -F '"code": "E_NET"' <<<"$s")" -a -n "$(grep -F 'connection refused' <<<"$s")"
check "status: failures counted" test "$(jget "$s" failures)" -ge 4
sleep 7
mapfile -t ts <"$FAKE_STATE/attempts.hub"
last_gap=$(( ts[-1] - ts[-2] ))
check "delay capped at backoff_max 3.2 s (last gap $last_gap ms)" test "$last_gap" -le 3700 -a "$last_gap" -ge 1500
# recovery: the next attempt succeeds and the backoff resets
echo ok >"$FAKE_STATE/mode.hub"
wait_for 6 sh -c "'$SSYNC_BIN' --home '$H' --json status | grep -q '\"state\": \"ok\"'" || true
s=$(status_json "$H")
check "back to ok after the remote returns; failures reset" test "$(jget "$s" state)" = ok -a "$(jget "$s" failures)" = 0
check "last success recorded" test -n "$(grep -E '"last_success": "20' <<<"$s")"

# --- sync --now overrides a backoff and waits for the result
echo fail >"$FAKE_STATE/mode.hub"
"$SSYNC_BIN" --home "$H" sync --now >/dev/null 2>&1 || true
echo ok >"$FAKE_STATE/mode.hub"
set +e; out=$("$SSYNC_BIN" --home "$H" sync --now 2>&1); rc=$?; set -e
check "sync --now during backoff runs at once and reports ok" test "$rc" -eq 0 -a -n "$(grep 'hub: ok' <<<"$out")"
# Regression: a waiting sync --now whose round started right after the
# remote-list refresh (or while the backoff retry of the failed one ran) was
# counted as "already running" and never answered. Loop fail-then-ok; the
# varying pause lands the second request before, during or after the retry.
hangs=0 bad=0 t0=$(now_ms)
for ((i = 0; i < 30; i++)); do
	echo fail >"$FAKE_STATE/mode.hub"
	set +e; timeout 20 "$SSYNC_BIN" --home "$H" sync --now >/dev/null 2>&1; rc=$?; set -e
	[ "$rc" -eq 124 ] && hangs=$((hangs + 1))
	echo ok >"$FAKE_STATE/mode.hub"
	sleep "0.$((RANDOM % 4))"
	set +e; out=$(timeout 20 "$SSYNC_BIN" --home "$H" sync --now 2>&1); rc=$?; set -e
	if [ "$rc" -eq 124 ]; then hangs=$((hangs + 1)); elif [ "$rc" -ne 0 ] || ! grep -q 'hub: ok' <<<"$out"; then bad=$((bad + 1)); fi
done
check "30 x fail-then-ok sync --now: always answered ($hangs hung, $bad not ok, $(( $(now_ms) - t0 )) ms)" test "$hangs" -eq 0 -a "$bad" -eq 0
# A daemon that does not answer at all: sync --now gives up with a clear error.
kill -STOP "$D1"
t0=$(now_ms)
set +e; out=$(timeout 30 "$SSYNC_BIN" --home "$H" sync --now 2>&1); rc=$?; set -e
t1=$(now_ms)
kill -CONT "$D1"
check "sync --now with a hung daemon fails naming the socket ($rc, $((t1 - t0)) ms)" \
	test "$rc" -eq 1 -a -n "$(grep -F "$H/control.sock" <<<"$out" | grep 'did not answer')"

# --- hard deadline: a sync that hangs is killed at deadline_s (2 s)
echo hang >"$FAKE_STATE/mode.hub"
t0=$(now_ms)
("$SSYNC_BIN" --home "$H" --json sync --now >"$T/now.json" 2>&1 || true) &
NOWPID=$!
sleep 0.7
ts0=$(now_ms); s=$(status_json "$H"); ts1=$(now_ms)
check "status answers while a sync hangs ($((ts1 - ts0)) ms)" test $((ts1 - ts0)) -lt 1000 -a "$(jget "$s" state)" = running
wait "$NOWPID"
t1=$(now_ms)
check "hung sync abandoned at the deadline ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 1900 -a $((t1 - t0)) -lt 4000
check "error is E_CANCELLED / deadline" test -n "$(grep -F 'E_CANCELLED' "$T/now.json")" -a -n "$(grep -F 'deadline' "$T/now.json")"
check "no child left behind" test ! -f "$H/daemon.child"
# a child that ignores SIGTERM gets SIGKILL after kill_grace_s (1 s).
# First let the retry of the hung round succeed: a retry still running when
# the request comes (backoff 0.2-0.4 s races a loaded machine's CLI start)
# would make the request wait for two killed rounds.
echo ok >"$FAKE_STATE/mode.hub"
wait_for 10 sh -c "'$SSYNC_BIN' --home '$H' --json status | grep -q '\"state\": \"ok\"'" || true
echo hang-hard >"$FAKE_STATE/mode.hub"
t0=$(now_ms)
"$SSYNC_BIN" --home "$H" --json sync --now >"$T/now.json" 2>&1 || true
t1=$(now_ms)
check "SIGTERM-proof child killed at deadline + grace ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 2900 -a $((t1 - t0)) -lt 5500
check "its whole process group is gone (sleep included)" sh -c "! kill -0 -- -$(cat "$FAKE_STATE/pid.hub") 2>/dev/null"
echo ok >"$FAKE_STATE/mode.hub"

# --- SIGHUP: a bad file keeps the old settings; a good one applies
echo '{"sync_interval_s": ' >"$H/config.json"
kill -HUP "$D1"
wait_for 3 grep -q 'reload failed, keeping the previous settings' "$LOGF" || true
check "bad reload logged, old settings kept" test "$(jget "$(status_json "$H")" debounce_s)" = 0.5
check "daemon still running after a bad reload" kill -0 "$D1"
echo '{"sync_interval_s": 3600, "debounce_s": 0.7, "poll_s": 0.2, "backoff_base_s": 0.4, "backoff_max_s": 3.2, "deadline_s": 2, "kill_grace_s": 1, "stop_grace_s": 3, "log_level": "debug"}' >"$H/config.json"
kill -HUP "$D1"
debounce_07() { status_json "$H" | grep -Eq '"debounce_s": 0\.(7|69999)'; }
wait_for 3 debounce_07 || true
check "good reload applied" debounce_07

# --- SIGTERM during a round: the round (3 s) gets stop_grace_s (3 s) to finish
echo slow:1.5 >"$FAKE_STATE/mode.hub"
("$SSYNC_BIN" --home "$H" sync --now >/dev/null 2>&1 || true) &
wait_for 3 test -f "$H/daemon.child" || true
sleep 0.3
t0=$(now_ms)
set +e; stop_daemon "$D1" 15; rc=$?; set -e
t1=$(now_ms)
check "SIGTERM waits for the running round, then exits 0 ($((t1 - t0)) ms)" test "$rc" -eq 0 -a $((t1 - t0)) -ge 900
check "the round finished rather than being killed" grep -q 'sync with hub ok' <(tail -5 "$LOGF")
check "socket removed on exit" test ! -e "$H/control.sock"

# ... and a round that would outlast stop_grace_s is stopped
start_daemon "$H" "$LOGF"
D2=$DPID
echo hang >"$FAKE_STATE/mode.hub"
("$SSYNC_BIN" --home "$H" sync --now >/dev/null 2>&1 || true) &
wait_for 3 test -f "$H/daemon.child" || true
t0=$(now_ms)
set +e; stop_daemon "$D2" 15; rc=$?; set -e
t1=$(now_ms)
check "hung round stopped after stop_grace_s, exit 0 ($((t1 - t0)) ms)" test "$rc" -eq 0 -a $((t1 - t0)) -lt 5000

# --- kill -9 leaves a hung child; the next daemon stops it and resumes
start_daemon "$H" "$LOGF"
D3=$DPID
("$SSYNC_BIN" --home "$H" sync --now >/dev/null 2>&1 || true) &
wait_for 3 test -f "$H/daemon.child" || true
orphan=$(cat "$H/daemon.child")
kill -9 "$D3"
sleep 0.2
check "child outlives a kill -9 of the daemon" kill -0 "$orphan"
echo ok >"$FAKE_STATE/mode.hub"
n0=$(attempts)
start_daemon "$H" "$LOGF"
D4=$DPID
wait_for 5 sh -c "! kill -0 $orphan" || true
check "next daemon stopped the orphan" sh -c "! kill -0 $orphan 2>/dev/null"
wait_for 5 attempts_gt "$n0" || true
check "and resumed syncing" test "$(attempts)" -gt "$n0"
set +e; stop_daemon "$D4" 15; rc=$?; set -e
check "clean exit" test "$rc" -eq 0

finish
