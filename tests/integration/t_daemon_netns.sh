#!/usr/bin/env bash
# A flaky link between a school and the hub's git server (TESTPLAN cases 13,
# 15, 18), in network namespaces this test creates:
#
#   [ns school]  schoolsyncd (sch-a) -> netproxy 127.0.0.1:PX (delay+jitter)
#        | veth, tbf rate cap, nft/iptables random loss both ways, link down/up
#   [ns hub]     git daemon 10.X.Y.1:9418 serving hub.git
#   (root ns)    schoolsyncd (sch-b), remote = hub.git as a local path
#
# Both schools write throughout the chaos; after it heals they must converge
# (same state hash, nothing pending), and the school's daemon must keep its
# fd count flat. tc netem is not available on these machines: delay comes
# from netproxy. Needs root (network namespaces); installs nftables (or
# iptables) with apt-get if missing. Chaos lasts SSYNC_CHAOS_S seconds (15;
# SSYNC_LONG=1, the soak_daemon target: 1800).
set -euo pipefail
source "$(dirname "$0")/daemon_lib.sh"

skip() { echo "SKIP: $*"; echo "0 passed, 0 failed"; exit 0; }
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
NS_S=ssync-s-$$ NS_H=ssync-h-$$
ip netns add "$NS_S" 2>/dev/null || skip "cannot create network namespaces here"
CLEANUP_HOOKS+=('ip netns pids $NS_S 2>/dev/null | xargs -r kill -9; ip netns pids $NS_H 2>/dev/null | xargs -r kill -9; ip netns del $NS_S 2>/dev/null; ip netns del $NS_H 2>/dev/null')
ip netns add "$NS_H"

# Tools: tc comes with iproute2; random loss needs nft or iptables.
LOSS_TOOL=""
if command -v nft >/dev/null; then LOSS_TOOL=nft
elif command -v iptables >/dev/null; then LOSS_TOOL=iptables
else
	echo "    installing nftables for random packet loss"
	if (apt-get install -y -qq nftables >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq nftables >/dev/null 2>&1; }) && command -v nft >/dev/null; then
		LOSS_TOOL=nft
	elif (apt-get install -y -qq iptables >/dev/null 2>&1) && command -v iptables >/dev/null; then
		LOSS_TOOL=iptables
	fi
fi
check "a random-loss tool is available ($LOSS_TOOL)" test -n "$LOSS_TOOL"
command -v tc >/dev/null || { apt-get install -y -qq iproute2 >/dev/null 2>&1 || true; }

CHAOS_S=${SSYNC_CHAOS_S:-15}
[ -n "${SSYNC_LONG:-}" ] && CHAOS_S=${SSYNC_CHAOS_S:-1800}
SUB=$(( 100 + RANDOM % 150 ))
HUB_IP=10.$SUB.$(( RANDOM % 250 )).1
SCH_IP=${HUB_IP%.1}.2
VS=vs$$ VH=vh$$
ip link add "$VS" type veth peer name "$VH"
ip link set "$VS" netns "$NS_S"
ip link set "$VH" netns "$NS_H"
ip -n "$NS_S" addr add "$SCH_IP/24" dev "$VS"
ip -n "$NS_H" addr add "$HUB_IP/24" dev "$VH"
for ns in "$NS_S" "$NS_H"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" link set "$VS" up
ip -n "$NS_H" link set "$VH" up

build_netproxy
mkdir -p "$T/srv"
git init -q --bare "$T/srv/hub.git"
ip netns exec "$NS_H" "$GIT_DAEMON" --export-all --enable=receive-pack --reuseaddr --base-path="$T/srv" \
	--listen="$HUB_IP" --port=9418 "$T/srv" >>"$T/git-daemon.log" 2>&1 &
wait_for 5 ip netns exec "$NS_S" bash -c "exec 3<>/dev/tcp/$HUB_IP/9418" || true
check "school namespace reaches the hub's git daemon over the veth" ip netns exec "$NS_S" bash -c "exec 3<>/dev/tcp/$HUB_IP/9418"
PX=9419
ip netns exec "$NS_S" "$T/netproxy" "127.0.0.1:$PX" "$HUB_IP:9418" 100 400 &
wait_for 5 ip netns exec "$NS_S" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PX" || true

A=$(new_home sch-a)
B=$(new_home sch-b)
CONF='{"sync_interval_s": 3, "debounce_s": 0.5, "poll_s": 0.2, "backoff_base_s": 0.5, "backoff_max_s": 4, "deadline_s": 25, "kill_grace_s": 1, "stop_grace_s": 5, "log_level": "info"}'
echo "$CONF" >"$A/config.json"
echo "$CONF" >"$B/config.json"
"$SSYNC_BIN" --home "$A" remote add hub "git://127.0.0.1:$PX/hub.git" >/dev/null
"$SSYNC_BIN" --home "$B" remote add hub "$T/srv/hub.git" >/dev/null
LOGF=$T/a.log
ip netns exec "$NS_S" "$SSYNC_DAEMON" --home "$A" >>"$LOGF" 2>&1 &
DA=$!
DAEMON_PIDS+=("$DA")
wait_for 10 test -S "$A/control.sock" || true
start_daemon "$B" "$T/b.log"; DB=$DPID
fds() { ls "/proc/$1/fd" | wc -l; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
sleep 2
fd0=$(fds "$DA") rss0=$(rss_kb "$DA")

# --- the nemesis
loss_on() { # loss_on PERCENT
	if [ "$LOSS_TOOL" = nft ]; then
		ip netns exec "$NS_S" nft -f - <<NFT
table inet ssync_flaky {
	chain in { type filter hook input priority 0; policy accept; iifname "$VS" numgen random mod 100 < $1 drop; }
	chain out { type filter hook output priority 0; policy accept; oifname "$VS" numgen random mod 100 < $1 drop; }
}
NFT
	else
		local p; p=$(awk -v x="$1" 'BEGIN { printf "%.2f", x / 100 }')
		ip netns exec "$NS_S" iptables -A INPUT -i "$VS" -m statistic --mode random --probability "$p" -j DROP
		ip netns exec "$NS_S" iptables -A OUTPUT -o "$VS" -m statistic --mode random --probability "$p" -j DROP
	fi
}
loss_off() {
	if [ "$LOSS_TOOL" = nft ]; then ip netns exec "$NS_S" nft delete table inet ssync_flaky 2>/dev/null || true
	else ip netns exec "$NS_S" iptables -F 2>/dev/null || true; fi
}
tbf_on() { ip netns exec "$NS_S" tc qdisc replace dev "$VS" root tbf rate "$1" burst 8kb latency 2s; }
tbf_off() { ip netns exec "$NS_S" tc qdisc del dev "$VS" root 2>/dev/null || true; }

events=()
(
	end=$(( $(date +%s) + CHAOS_S ))
	while [ "$(date +%s)" -lt "$end" ]; do
		case $(( RANDOM % 4 )) in
		0) ip -n "$NS_S" link set "$VS" down; echo "link down" >>"$T/nemesis"; sleep "$(( 1 + RANDOM % 4 ))"
		   ip -n "$NS_S" link set "$VS" up; echo "link up" >>"$T/nemesis";;
		1) p=$(( 1 + RANDOM % 30 )); loss_on "$p"; echo "loss $p%" >>"$T/nemesis"; sleep "$(( 2 + RANDOM % 5 ))"; loss_off;;
		2) r=$(( 16 + RANDOM % 240 ))kbit; tbf_on "$r"; echo "tbf $r" >>"$T/nemesis"; sleep "$(( 2 + RANDOM % 5 ))"; tbf_off;;
		3) sleep "$(( 1 + RANDOM % 3 ))";;
		esac
	done
) &
NEMESIS=$!
CLEANUP_HOOKS+=('kill $NEMESIS 2>/dev/null')

# Both schools keep writing through it.
i=0
end=$(( $(date +%s) + CHAOS_S ))
while [ "$(date +%s)" -lt "$end" ]; do
	i=$((i + 1))
	"$SSYNC_BIN" --home "$A" sql "INSERT INTO zone(id,name) VALUES('fa$i','flaky-a')" >/dev/null
	"$SSYNC_BIN" --home "$B" sql "INSERT INTO zone(id,name) VALUES('fb$i','flaky-b')" >/dev/null
	sleep 0.$(( RANDOM % 10 ))
	if [ $((i % 10)) = 0 ]; then
		s0=$(now_ms); status_json "$A" >/dev/null; s1=$(now_ms)
		[ $((s1 - s0)) -lt 2000 ] || fail "status took $((s1 - s0)) ms during the chaos"
	fi
done
wait "$NEMESIS" || true
loss_off; tbf_off; ip -n "$NS_S" link set "$VS" up
echo "    nemesis: $(sort "$T/nemesis" | sed 's/ [0-9.]*[%a-z]*$//' | uniq -c | tr '\n' ' ')"
echo "    $i writes at each school during ${CHAOS_S} s of chaos"
echo "    a: $(grep -c 'sync with hub ok' "$LOGF") ok rounds, $(grep -c 'sync with hub failed' "$LOGF") failed ($(grep -o 'failed \[[A-Z_]*\]' "$LOGF" | sort | uniq -c | tr '\n' ' '))"

# --- healed: converge
converged() { [ "$(pending_of "$A")" = 0 ] && [ "$(pending_of "$B")" = 0 ] && [ "$(state_hash "$A")" = "$(state_hash "$B")" ]; }
t0=$(now_ms)
wait_for 90 converged || true
t1=$(now_ms)
check "converged after the link healed ($((t1 - t0)) ms)" converged
check "every write of a at b" test "$(count_rows "$B" "name='flaky-a'")" = "$i"
check "every write of b at a" test "$(count_rows "$A" "name='flaky-b'")" = "$i"
check "a's log verifies" "$SSYNC_BIN" --home "$A" log --node sch-a
fd1=$(fds "$DA") rss1=$(rss_kb "$DA")
echo "    school daemon: fds $fd0 -> $fd1, RSS ${rss0} -> ${rss1} kB"
check "fd count flat" test "$fd1" -le $((fd0 + 3))
check "RSS flat (< +8 MB)" test "$rss1" -le $((rss0 + 8192))
check "hub repository fsck clean" git --git-dir="$T/srv/hub.git" fsck --no-progress
set +e; stop_daemon "$DA" 30; ra=$?; stop_daemon "$DB" 30; rb=$?; set -e
check "clean exits" test "$ra" -eq 0 -a "$rb" -eq 0
finish
