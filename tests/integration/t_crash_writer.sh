#!/usr/bin/env bash
# Crash atomicity: kill -9 a writer (single-row writes and 3,000-row bulk
# writes) at random moments, over many trials. After each kill the replica
# must be exactly what its log says (schoolsync verify: signatures, chain,
# data rebuilt from the log = data in the replica), and every write the
# writer saw committed must be there.
set -euo pipefail
BIN=${SSYNC_BIN:-$(dirname "$0")/../../build/schoolsync}
TRIALS=${SSYNC_CRASH_TRIALS:-100}
T=$(mktemp -d /tmp/ssync-crash.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
H="$T/node"
"$BIN" --home "$H" init --node crash-a >/dev/null

writer() {
	# runs in its own process group; logs each id after its write committed
	local i=$1
	while :; do
		i=$((i + 1))
		if [ $((i % 7)) = 0 ]; then
			"$BIN" --home "$H" sql "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k+1 FROM n WHERE k<200)
				INSERT INTO teacher(id, school_id, name, title) SELECT 'bulk$i-'||k, 'crash-a', '教师'||k, '中级' FROM n" >/dev/null
			echo "bulk$i-200" >>"$T/committed"
		else
			"$BIN" --home "$H" sql "INSERT INTO teacher(id, school_id, name) VALUES ('w$i', 'crash-a', '王$i')" >/dev/null
			echo "w$i" >>"$T/committed"
		fi
	done
}

: >"$T/committed"
base=0
for trial in $(seq 1 "$TRIALS"); do
	base=$((trial * 100000))
	setsid bash -c "$(declare -f writer); BIN='$BIN' H='$H' T='$T'; writer $base" &
	pid=$!
	sleep "0.$(( (RANDOM % 35) + 5 ))"
	kill -9 -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if ! out=$("$BIN" --home "$H" verify 2>&1); then
		echo "FAIL trial $trial: verify failed after kill -9"; echo "$out"; fail=$((fail + 1)); continue
	fi
	missing=0
	mapfile -t ids < <(tail -n 3 "$T/committed")
	if [ ${#ids[@]} -gt 0 ]; then
		n=$("$BIN" --home "$H" --json sql "SELECT count(*) AS n FROM teacher WHERE id IN (?1, ?2, ?3)" "${ids[0]}" "${ids[1]:-}" "${ids[2]:-}" | grep -o '"n": [0-9]*' | grep -o '[0-9]*$')
		[ "$n" = "${#ids[@]}" ] || { echo "FAIL trial $trial: committed writes missing (${ids[*]}: $n found)"; missing=1; }
	fi
	if [ $missing = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
rows=$("$BIN" --home "$H" --json sql "SELECT count(*) AS n FROM teacher" | grep -o '[0-9]*' | tail -1)
entries=$("$BIN" --home "$H" --json sql "SELECT count(*) AS n FROM ssync_entry" | grep -o '[0-9]*' | tail -1)
echo "crash: $TRIALS kill -9 trials; replica holds $rows rows in $entries entries; all verified against the log"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
