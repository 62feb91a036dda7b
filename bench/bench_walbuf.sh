#!/usr/bin/env bash
# The WAL shim against SQLite's own VFS in one run, alternated, so both see
# the same machine: bench_write with SSYNC_WALBUF=off and without, ROUNDS
# times each (default 6), single-row writes and the bulk import, then the
# medians. Usage: bench/bench_walbuf.sh [ROUNDS] [SINGLES] [BULK_ROWS]
#   (build/bench/bench_write, or $BENCH_WRITE)
set -euo pipefail
rounds=${1:-6} singles=${2:-10000} bulk=${3:-100000}
bw=${BENCH_WRITE:-$(dirname "$0")/../build/bench/bench_write}
[ -x "$bw" ] || { echo "no bench_write at $bw (build first, or set BENCH_WRITE)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$rounds"); do
	modes="on off"; [ $((r % 2)) -eq 0 ] && modes="off on" # neither always goes first
	for mode in $modes; do
		env=()
		[ "$mode" = off ] && env=(SSYNC_WALBUF=off)
		env "${env[@]}" "$bw" "$singles" "$bulk" >"$out/$mode.$r" 2>&1
		us=$(sed -n 's/^signed single-row writes:.*(\([0-9.]*\) us each).*/\1/p' "$out/$mode.$r")
		rows=$(sed -n 's/^bulk import: .* = \([0-9]*\) rows\/s.*/\1/p' "$out/$mode.$r")
		bare=$(sed -n 's/^bare SQLite.*(\([0-9.]*\) us each).*/\1/p' "$out/$mode.$r")
		shim=$(sed -n 's/^WAL shim at the end: \([a-z]*\):.*; \([0-9]*\) commits.*/\1, \2 commits as one write/p' "$out/$mode.$r")
		echo "round $r shim $mode: ${us} us/write, ${rows} rows/s bulk, bare SQLite ${bare} us/tx ($shim)"
		echo "$us" >>"$out/us.$mode"
		echo "$rows" >>"$out/rows.$mode"
	done
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "median over $rounds rounds: shim on $(med "$out/us.on") us/write, $(med "$out/rows.on") rows/s;" \
	"shim off $(med "$out/us.off") us/write, $(med "$out/rows.off") rows/s"
