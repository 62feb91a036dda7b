#!/usr/bin/env bash
# Demo: a district hub and three island schools in a temp dir. The hub creates
# the district (root key, certificates); schools pin its key. Each school works
# offline (two offices edit the same teacher), they sync through the hub's bare
# git repository in different orders, and every replica ends with the same
# state hash; the concurrent edit is kept for review; a school writing another
# school's row is refused; an auditor verifies everything from the git repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh build
if [ ! -x build/schoolsync ]; then
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build --target schoolsync-cli -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
S="$PWD/build/schoolsync"
D=$(mktemp -d /tmp/schoolsync-demo.XXXXXX)
echo "demo directory: $D"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ schoolsync %s\n' "${*:4}"; "$@"; }
export SCHOOLSYNC_ACTOR=demo

say "The district hub: a bare git repository every school can reach (here a path; any git URL works)"
git init -q --bare "$D/hub.git"
"$S" --home "$D/hub" init --node hub --district chongming >/dev/null
"$S" --home "$D/hub" remote add hub "$D/hub.git" >/dev/null
printf '$ schoolsync district init --id chongming --name 崇明区 --root-key %s\n' "$D/root.key"
"$S" --home "$D/hub" district init --id chongming --name 崇明区 --root-key "$D/root.key" | tee "$D/district.txt"
ROOT=$(grep -o '[0-9a-f]\{64\}' "$D/district.txt" | head -1)

say "Three schools create their nodes; the hub enrolls their keys; each pins the district key"
for n in chongxi baogang changxing; do
	pub=$("$S" --home "$D/$n" --json init --node "$n" --district chongming | grep -o '"pubkey": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
	"$S" --home "$D/hub" district enroll "$n" --role school --school "$n" --pubkey "$pub" --root-key "$D/root.key" >/dev/null
	"$S" --home "$D/$n" join --district-pubkey "$ROOT" >/dev/null
	"$S" --home "$D/$n" remote add hub "$D/hub.git" >/dev/null
	echo "  $n enrolled (key ${pub:0:16}…)"
done
run "$S" --home "$D/hub" district list

say "The hub enters the zones and schools, and syncs"
run "$S" --home "$D/hub" zone add --id z-cx --name 崇西
run "$S" --home "$D/hub" zone add --id z-cd --name 崇东
run "$S" --home "$D/hub" zone add --id z-ch --name 长横
run "$S" --home "$D/hub" school add --id chongxi --name 崇西中学 --zone-id z-cx --town 新河镇 --stage middle --students 612
run "$S" --home "$D/hub" school add --id baogang --name 堡港小学 --zone-id z-cd --town 堡镇 --stage primary --students 148
run "$S" --home "$D/hub" school add --id changxing --name 长兴岛学校 --zone-id z-ch --town 长兴镇 --stage nine-year --students 930
run "$S" --home "$D/hub" sync
for n in chongxi baogang changxing; do "$S" --home "$D/$n" sync >/dev/null; done

say "Each school works offline (the link is down for days)"
run "$S" --home "$D/chongxi" teacher add --id chongxi-t1 --staff-no CX001 --name 王芳 --subject 语文 --title 中级 --tier 骨干 --birth-year 1978 --joined-year 2008
run "$S" --home "$D/chongxi" teacher add --id chongxi-t2 --staff-no CX002 --name 李强 --subject 数学 --title 高级 --tier 名师 --birth-year 1972 --joined-year 2001
run "$S" --home "$D/baogang" teacher add --id baogang-t1 --staff-no BG001 --name 张敏 --subject 英语 --title 初级 --birth-year 1995 --joined-year 2019
run "$S" --home "$D/changxing" teacher add --id changxing-t1 --staff-no CH001 --name 刘洋 --subject 科学 --title 中级 --birth-year 1985 --joined-year 2012
run "$S" --home "$D/chongxi" sync
run "$S" --home "$D/baogang" sync
say "Two offices edit the same teacher without seeing each other's edit"
run "$S" --home "$D/chongxi" sql "UPDATE teacher SET title='高级' WHERE id='chongxi-t1'" --actor 教务-陈
"$S" --home "$D/hub" sync >/dev/null
run "$S" --home "$D/hub" sql "UPDATE teacher SET title='正高级' WHERE id='chongxi-t1'" --actor 教育局-审核
say "A school may change only its own rows: this is refused before anything is signed"
run "$S" --home "$D/baogang" sql "UPDATE teacher SET name='改名' WHERE id='chongxi-t2'" || true
run "$S" --home "$D/baogang" sql "DELETE FROM teacher WHERE id='baogang-t1'" --actor 教务-周

say "The link returns: everyone syncs, in different orders"
for n in changxing hub baogang chongxi changxing hub baogang chongxi; do
	printf '%-10s ' "$n"; "$S" --home "$D/$n" sync
done

say "Every replica has the same data"
for n in hub chongxi baogang changxing; do
	printf '%-10s %s\n' "$n" "$("$S" --home "$D/$n" state-hash)"
done
h=$(for n in hub chongxi baogang changxing; do "$S" --home "$D/$n" state-hash; done | sort -u | wc -l)
[ "$h" = 1 ] && echo "converged: 4 replicas, 1 state hash" || { echo "NOT converged"; exit 1; }
run "$S" --home "$D/baogang" teacher list

say "The concurrent edit is kept for review (the same on every node)"
run "$S" --home "$D/changxing" conflicts
say "Every change is signed and chained; an auditor verifies the git repository alone"
run "$S" --home "$D/changxing" log
run "$S" --home "$D/changxing" audit verify --repo "$D/hub.git" --district-pubkey "$ROOT"
run "$S" --home "$D/changxing" audit history teacher chongxi-t1
echo
echo "The hub's git repository holds one branch per node plus the district's trust branch:"
git --git-dir="$D/hub.git" branch -a
echo "(demo files left in $D)"
