#!/usr/bin/env bash
# Sync throughput: N record changes (default 100,000 teacher rows, 6 columns)
# from one node to a fresh node through a remote, file:// and git://, beside
# the same N documents replicated one way by PouchDB (leveldb adapter) in the
# same run. Prints entries/s, cells/s, seconds, peak RSS and the ratios.
# Usage: bench/bench_sync.sh [N]   (installs pouchdb with npm into bench/.pouchdb)
set -euo pipefail
N=${1:-100000}
cd "$(dirname "$0")/.."
ROOT=$PWD
B=${SSYNC_BIN:-$ROOT/build/schoolsync}
[ -x "$B" ] || { echo "build first: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2; exit 1; }
T=$(mktemp -d /tmp/ssync-bench-sync.XXXXXX)
cleanup() { [ -n "${GDPID:-}" ] && kill "$GDPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

measure() { # label cmd... -> prints "seconds maxrss_kb"
	/usr/bin/time -f "%e %M" -o "$T/time" "$@" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
	cat "$T/time"
}

git init -q --bare "$T/hub.git"
"$B" --home "$T/a" init --node sch-a >/dev/null
"$B" --home "$T/a" remote add hub "$T/hub.git" >/dev/null
echo "writing $N rows on sch-a ..."
read -r wsec wrss < <(measure "$B" --home "$T/a" sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<$N)
 INSERT INTO teacher(id, school_id, name, subject, title, birth_year, joined_year)
 SELECT 'b'||i, 'sch-a', '教师'||i, '数学', '中级', 1960+i%40, 1990+i%30 FROM n")
entries=$("$B" --home "$T/a" --json sql "SELECT count(*) AS n FROM ssync_entry" | grep -o '[0-9]\+' | tail -1)
read -r psec prss < <(measure "$B" --home "$T/a" sync)
echo "local bulk write: $wsec s ($(awk "BEGIN{printf \"%.0f\", $N/$wsec}") rows/s) in $entries entries; seal+push to hub: $psec s"

port=$((20000 + RANDOM % 20000))
git daemon --reuseaddr --listen=127.0.0.1 --port=$port --base-path="$T" --export-all "$T" >/dev/null 2>&1 &
GDPID=$!
sleep 0.5
results=()
for url in "$T/hub.git" "file://$T/hub.git" "git://127.0.0.1:$port/hub.git"; do
	h="$T/fresh-$RANDOM"
	"$B" --home "$h" init --node fresh-$RANDOM >/dev/null
	"$B" --home "$h" remote add hub "$url" >/dev/null
	read -r sec rss < <(measure "$B" --home "$h" sync --no-push)
	same=$([ "$("$B" --home "$h" state-hash)" = "$("$B" --home "$T/a" state-hash)" ] && echo yes || echo NO)
	printf '%-40s %6.2f s  %8.0f rows/s  %9.0f cells/s  peak RSS %5.0f MiB  converged=%s\n' "schoolsync fetch+verify+apply ($url)" \
		"$sec" "$(awk "BEGIN{print $N/$sec}")" "$(awk "BEGIN{print $N*7/$sec}")" "$(awk "BEGIN{print $rss/1024}")" "$same"
	results+=("$sec $rss")
done

echo "a sync with nothing new:"
read -r nsec nrss < <(measure "$B" --home "$h" sync --no-push)
echo "  $nsec s"

if command -v node >/dev/null && command -v npm >/dev/null; then
	P="$ROOT/bench/.pouchdb"
	if [ ! -d "$P/node_modules/pouchdb" ]; then
		mkdir -p "$P"
		(cd "$P" && npm install --silent --no-audit --no-fund pouchdb@9 >/dev/null 2>&1) || { echo "npm install pouchdb failed"; exit 1; }
	fi
	mkdir -p "$T/pouch"
	out=$(NODE_PATH="$P/node_modules" node "$ROOT/bench/pouchdb_replicate.js" "$N" "$T/pouch")
	psec=$(echo "$out" | sed 's/.*"seconds":\([0-9.]*\).*/\1/')
	prss=$(echo "$out" | sed 's/.*"peak_rss_mb":\([0-9.]*\).*/\1/')
	printf '%-40s %6.2f s  %8.0f docs/s  peak RSS %5.0f MiB\n' "PouchDB replicate (leveldb)" "$psec" "$(awk "BEGIN{print $N/$psec}")" "$prss"
	read -r ssec srss <<<"${results[0]}"
	printf 'ratio (path remote): schoolsync is %.1fx PouchDB speed at %.2fx its memory\n' \
		"$(awk "BEGIN{print $psec/$ssec}")" "$(awk "BEGIN{print ($srss/1024)/$prss}")"
else
	echo "node/npm not installed: PouchDB comparison skipped"
fi
