#!/usr/bin/env bash
# Demo: a district hub and three island schools in a temp dir. Each school
# works offline (including two schools editing the same teacher), then they
# sync through the hub's bare git repository in different orders, and all
# replicas end with the same state hash; the concurrent edit is shown as a
# conflict for the hub to review.
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
run() { printf '$ %s\n' "$*"; "$@"; }

say "The district hub: a bare git repository every school can reach (here a path; any git URL works)"
git init -q --bare "$D/hub.git"
for n in hub chongxi baogang changxing; do
	"$S" --home "$D/$n" init --node "$n" --district chongming >/dev/null
	"$S" --home "$D/$n" remote add hub "$D/hub.git" >/dev/null
done
echo "nodes: hub (教育局), chongxi (崇西), baogang (堡港), changxing (长兴岛) — each with its own key"

say "The hub enters the zones and schools, and syncs"
run "$S" --home "$D/hub" --json sql "INSERT INTO zone(id,name) VALUES ('z-cx','崇西'),('z-cd','崇东'),('z-ch','长横');
 INSERT INTO school(id,name,zone_id,town,stage,students) VALUES
 ('chongxi','崇西中学','z-cx','新河镇','middle',612),('baogang','堡港小学','z-cd','堡镇','primary',148),
 ('changxing','长兴岛学校','z-ch','长兴镇','nine-year',930)" --actor 教育局
run "$S" --home "$D/hub" sync
for n in chongxi baogang changxing; do "$S" --home "$D/$n" sync >/dev/null; done

say "Each school works offline (the link is down for days)"
run "$S" --home "$D/chongxi" sql "INSERT INTO teacher(id,school_id,name,subject,title,tier,birth_year,joined_year)
 VALUES ('chongxi-t1','chongxi','王芳','语文','中级','骨干',1978,2008),
        ('chongxi-t2','chongxi','李强','数学','高级','名师',1972,2001)" --actor 教务-陈
run "$S" --home "$D/baogang" sql "INSERT INTO teacher(id,school_id,name,subject,title,birth_year,joined_year)
 VALUES ('baogang-t1','baogang','张敏','英语','初级',1995,2019)" --actor 教务-周
run "$S" --home "$D/changxing" sql "INSERT INTO teacher(id,school_id,name,subject,title,birth_year,joined_year)
 VALUES ('changxing-t1','changxing','刘洋','科学','中级',1985,2012)" --actor 教务-吴
run "$S" --home "$D/chongxi" sync
run "$S" --home "$D/baogang" sync
say "Two offices edit the same teacher without seeing each other's edit"
run "$S" --home "$D/chongxi" sql "UPDATE teacher SET title='高级' WHERE id='chongxi-t1'" --actor 教务-陈
run "$S" --home "$D/hub" sync >/dev/null
run "$S" --home "$D/hub" sql "UPDATE teacher SET title='正高级' WHERE id='chongxi-t1'" --actor 教育局-审核
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
run "$S" --home "$D/baogang" sql "SELECT t.name, t.subject, t.title, s.name AS school FROM teacher t JOIN school s ON s.id=t.school_id ORDER BY t.id"

say "The concurrent edit is kept for review (the same on every node)"
run "$S" --home "$D/changxing" conflicts
say "Every change is signed and chained; anyone can verify"
run "$S" --home "$D/changxing" log
echo
echo "The hub's git repository holds one branch per school: git --git-dir=$D/hub.git log --all --oneline"
git --git-dir="$D/hub.git" branch -a
echo "(demo files left in $D)"
