#!/usr/bin/env bash
# schoolsyncd with the real `schoolsync sync` over git:// on loopback: two
# schools and a hub served by git-daemon.
#  - a local write reaches the other school by itself (debounce + rounds)
#  - the hub goes down: retries with growing delays, pending shown; it comes
#    back: both schools converge (same state hash)
#  - a server that accepts and then says nothing is abandoned at the deadline
#    while `status` keeps answering
#  - SIGTERM during syncs (through a delaying proxy) leaves log, replica and
#    repositories consistent, and the next start converges
set -euo pipefail
source "$(dirname "$0")/daemon_lib.sh"

build_netproxy
mkdir -p "$T/srv"
git init -q --bare "$T/srv/hub.git"
PORT=$(free_port)
start_git_daemon "$T/srv" "$PORT"
CLEANUP_HOOKS+=('kill $GDPID 2>/dev/null')
A=$(new_home sch-a)
B=$(new_home sch-b)
CONF='{"sync_interval_s": 2, "debounce_s": 0.5, "poll_s": 0.2, "backoff_base_s": 0.5, "backoff_max_s": 4, "deadline_s": 4, "kill_grace_s": 1, "stop_grace_s": 2, "log_level": "debug"}'
for h in "$A" "$B"; do
	echo "$CONF" >"$h/config.json"
	"$SSYNC_BIN" --home "$h" remote add hub "git://127.0.0.1:$PORT/hub.git" >/dev/null
done
LA=$T/a.log LB=$T/b.log
LOGF=$LA
start_daemon "$A" "$LA"; DA=$DPID
start_daemon "$B" "$LB"; DB=$DPID
rows_at_b() { [ "$(count_rows "$B" "$1")" = "$2" ]; }
converged() { [ "$(state_hash "$A")" = "$(state_hash "$B")" ] && [ "$(pending_of "$A")" = 0 ] && [ "$(pending_of "$B")" = 0 ]; }

# --- 1. a write at school a reaches school b with no one running sync
t0=$(now_ms)
"$SSYNC_BIN" --home "$A" sql "INSERT INTO zone(id,name) VALUES('w1','崇西')" >/dev/null
wait_for 20 rows_at_b "id='w1'" 1 || true
t1=$(now_ms)
check "write at a visible at b by itself ($((t1 - t0)) ms)" rows_at_b "id='w1'" 1
check "a's pending back to 0" test "$(pending_of "$A")" = 0

# --- 2. hub down for a while, then back
kill "$GDPID"; wait "$GDPID" 2>/dev/null || true
for i in 1 2 3; do "$SSYNC_BIN" --home "$A" sql "INSERT INTO zone(id,name) VALUES('d$i','down')" >/dev/null; done
"$SSYNC_BIN" --home "$B" sql "INSERT INTO zone(id,name) VALUES('bd','down-b')" >/dev/null
sleep 9
s=$(status_json "$A")
check "status during the outage: backoff, E_NET, 3 pending" \
	test "$(jget "$s" state)" != ok -a -n "$(grep -F '"code": "E_NET"' <<<"$s")" -a "$(jget "$s" pending)" = 3
mapfile -t delays < <(grep -o 'retry in [0-9.]* s' "$LA" | awk '{print $3}')
echo "    a's retry delays (s): ${delays[*]}"
check "at least 4 retries during the outage" test "${#delays[@]}" -ge 4
grows=$(awk -v a="${delays[0]}" -v b="${delays[3]:-0}" 'BEGIN { print (b > a) ? 1 : 0 }')
check "retry delays grow (${delays[0]} -> ${delays[3]:-?})" test "$grows" = 1
check "local writes unaffected while the hub is down" test "$(count_rows "$A" "name='down'")" = 3
start_git_daemon "$T/srv" "$PORT"
t0=$(now_ms)
wait_for 30 converged || true
t1=$(now_ms)
check "both schools converge after the hub returns ($((t1 - t0)) ms)" converged
check "b has a's writes from the outage" rows_at_b "name='down'" 3
check "a has b's write from the outage" test "$(count_rows "$A" "id='bd'")" = 1
s=$(status_json "$A")
check "backoff reset after success" test "$(jget "$s" failures)" = 0

# --- 3. a server that accepts and then sends nothing
BH=$(free_port)
"$T/netproxy" "127.0.0.1:$BH" --blackhole &
BHPID=$!
CLEANUP_HOOKS+=('kill $BHPID 2>/dev/null')
wait_for 5 port_open 127.0.0.1 "$BH" || true
"$SSYNC_BIN" --home "$A" remote add dead "git://127.0.0.1:$BH/hub.git" >/dev/null
t0=$(now_ms)
("$SSYNC_BIN" --home "$A" --json sync --now >"$T/now.json" 2>&1 || true) &
NOWPID=$!
sleep 1.5
worst=0
for i in 1 2 3 4 5; do
	s0=$(now_ms); status_json "$A" >/dev/null; s1=$(now_ms)
	[ $((s1 - s0)) -gt "$worst" ] && worst=$((s1 - s0))
	sleep 0.3
done
check "status answers while a sync is stuck on a silent server (worst ${worst} ms)" test "$worst" -lt 1000
wait "$NOWPID"
t1=$(now_ms)
check "silent server abandoned at the 4 s deadline (sync --now returned after $((t1 - t0)) ms)" \
	test -n "$(grep -F 'E_CANCELLED' "$T/now.json")" -a $((t1 - t0)) -lt 12000
dur=$(grep -o 'sync with dead failed \[E_CANCELLED\] after [0-9.]* s' "$LA" | tail -1 | awk '{print $7}')
echo "    deadline enforcement: the round with the silent server lasted ${dur:-?} s (deadline 4 s)"
check "hub still synced in the same request" test -n "$(grep -F '"remote": "hub"' "$T/now.json")"
"$SSYNC_BIN" --home "$A" remote remove dead >/dev/null
kill "$BHPID" 2>/dev/null || true

# --- 4. SIGTERM in the middle of syncs through a slow link
PX=$(free_port)
"$T/netproxy" "127.0.0.1:$PX" "127.0.0.1:$PORT" 150 100 &
PXPID=$!
CLEANUP_HOOKS+=('kill $PXPID 2>/dev/null')
"$SSYNC_BIN" --home "$A" remote remove hub >/dev/null
"$SSYNC_BIN" --home "$A" remote add hub "git://127.0.0.1:$PX/hub.git" >/dev/null
echo '{"sync_interval_s": 2, "debounce_s": 0.2, "poll_s": 0.2, "backoff_base_s": 0.5, "backoff_max_s": 2, "deadline_s": 10, "kill_grace_s": 1, "stop_grace_s": 0, "log_level": "debug"}' >"$A/config.json"
stop_daemon "$DA" 20 || true
interrupted=0
for trial in $(seq 1 8); do
	start_daemon "$A" "$LA"; DA=$DPID
	"$SSYNC_BIN" --home "$A" sql "INSERT INTO zone(id,name) VALUES('t$trial','term')" >/dev/null
	wait_for 5 test -f "$A/daemon.child" || true
	sleep "0.$(( RANDOM % 9 ))"
	[ -f "$A/daemon.child" ] && interrupted=$((interrupted + 1))
	set +e; stop_daemon "$DA" 20; rc=$?; set -e
	[ "$rc" -eq 0 ] || fail "trial $trial: daemon exit $rc after SIGTERM"
done
echo "    SIGTERM landed during a running sync in $interrupted of 8 trials"
check "own log verifies after SIGTERMs" "$SSYNC_BIN" --home "$A" log --node sch-a
check "exchange repository fsck clean" git --git-dir="$A/exchange.git" fsck --no-progress --strict
check "hub repository fsck clean" git --git-dir="$T/srv/hub.git" fsck --no-progress --strict
start_daemon "$A" "$LA"; DA=$DPID
wait_for 40 converged || true
check "converged after the SIGTERM trials" converged
check "every acknowledged write reached b" rows_at_b "name='term'" 8

set +e; stop_daemon "$DA" 20; ra=$?; stop_daemon "$DB" 20; rb=$?; set -e
check "both daemons exit 0 on SIGTERM" test "$ra" -eq 0 -a "$rb" -eq 0
finish
