#!/usr/bin/env bash
# This build against an earlier commit, side by side in one run so both see
# the same machine: single-row writes/s, bulk import rows/s (bench_write) and
# a sync of N rows to a fresh node through a path remote (fetch+verify+apply),
# alternated ROUNDS times with the order swapped every round, then medians.
# Usage: bench/bench_ab.sh REF_COMMIT [ROUNDS] [SINGLES] [N]
#   builds REF_COMMIT (Release) in /tmp/ssync-ab-REF, this tree in build-ab/.
set -euo pipefail
ref=${1:?usage: bench/bench_ab.sh REF_COMMIT [ROUNDS] [SINGLES] [N]}
rounds=${2:-5} singles=${3:-10000} n=${4:-100000}
cd "$(dirname "$0")/.."
root=$PWD
refdir=/tmp/ssync-ab-$(git rev-parse --short "$ref")
if [ ! -d "$refdir" ]; then
	mkdir -p "$refdir"
	git archive "$ref" | tar -x -C "$refdir"
fi
build() { # src dir -> build dir
	cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$2" -j"$(nproc)" --target schoolsync-cli bench_write >/dev/null
}
echo "building $ref and this tree (Release) ..."
build "$refdir" "$refdir/build"
build "$root" "$root/build-ab"
declare -A bin=([ref]="$refdir/build" [new]="$root/build-ab")
out=$(mktemp -d /tmp/ssync-ab.XXXXXX)
trap 'rm -rf "$out"' EXIT

sync_rows() { # build dir -> seconds for a fresh node to fetch+verify+apply N rows
	local b=$1/schoolsync t
	t=$(mktemp -d "$out/sync.XXXXXX")
	git init -q --bare "$t/hub.git"
	"$b" --home "$t/a" init --node sch-a >/dev/null
	"$b" --home "$t/a" remote add hub "$t/hub.git" >/dev/null
	# generated rows, not a school's data: the domain checks (issue 16) are not what is measured
	SCHOOLSYNC_SQL_UNCHECKED=1 "$b" --home "$t/a" sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<$n)
	 INSERT INTO teacher(id, school_id, staff_no, name, subject, title, birth_year, joined_year)
	 SELECT 'sch-a-b'||i, 'sch-a', 'SA'||printf('%07d', i), '教师'||i, '数学', '中级', 1960+i%40, 1990+i%30 FROM n" >/dev/null
	[ "$("$b" --home "$t/a" sql "SELECT count(*) AS n FROM teacher" --json | tr -dc 0-9)" = "$n" ] || { echo "the $n rows were not written" >&2; exit 1; }
	"$b" --home "$t/a" sync >/dev/null
	"$b" --home "$t/f" init --node sch-f >/dev/null
	"$b" --home "$t/f" remote add hub "$t/hub.git" >/dev/null
	/usr/bin/time -f "%e" -o "$t/time" "$b" --home "$t/f" sync --no-push >/dev/null
	[ "$("$b" --home "$t/f" state-hash)" = "$("$b" --home "$t/a" state-hash)" ] || { echo "did not converge" >&2; exit 1; }
	cat "$t/time"
	rm -rf "$t"
}

for r in $(seq 1 "$rounds"); do
	order="ref new"; [ $((r % 2)) -eq 0 ] && order="new ref"
	for w in $order; do
		"${bin[$w]}/bench/bench_write" "$singles" "$n" >"$out/w.$w.$r" 2>&1
		us=$(sed -n 's/^signed single-row writes:.*(\([0-9.]*\) us each).*/\1/p' "$out/w.$w.$r")
		rows=$(sed -n 's/^bulk import: .* = \([0-9]*\) rows\/s.*/\1/p' "$out/w.$w.$r")
		s=$(sync_rows "${bin[$w]}")
		echo "round $r $w: ${us} us/write, ${rows} rows/s bulk, sync of $n rows to a fresh node ${s} s"
		echo "$us" >>"$out/us.$w"; echo "$rows" >>"$out/rows.$w"; echo "$s" >>"$out/sync.$w"
	done
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for w in ref new; do
	us=$(med "$out/us.$w")
	printf '%s (%s): median %s us/write = %.0f writes/s, %s rows/s bulk, sync %s s = %.0f rows/s\n' \
		"$w" "$([ $w = ref ] && echo "$ref" || git rev-parse --short HEAD)" "$us" \
		"$(awk "BEGIN{print 1e6/$us}")" "$(med "$out/rows.$w")" "$(med "$out/sync.$w")" \
		"$(awk "BEGIN{print $n/$(med "$out/sync.$w")}")"
done
