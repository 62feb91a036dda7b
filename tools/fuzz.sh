#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for
# SECONDS (default 60), all at once under nice, each on its own copy of the
# seed corpus (tests/fuzz/corpus/<name> is read, never written).
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]   (targets: entry tobj segment csv control report keystore shape)
# Env: FUZZ_BUILD (default build-fuzz), FUZZ_JOBS (targets at once, default all).
# Results: $FUZZ_BUILD/fuzz-logs/<name>.log (final stats at the end),
# crashers in $FUZZ_BUILD/fuzz-crashes/; exit 1 if any target found one.
# docs/FUZZING.md: what each target covers, how to reproduce a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(entry tobj segment csv control report keystore shape)
B="${FUZZ_BUILD:-build-fuzz}"
bash tools/deps.sh fuzz
if [ ! -f "$B/CMakeCache.txt" ]; then
	CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSYNC_FUZZ=ON \
		-DSSYNC_SANITIZE="address;undefined" -DSSYNC_JEMALLOC=OFF -DSSYNC_BUILD_BENCH=OFF >/dev/null
fi
build=()
for t in "${targets[@]}"; do build+=(--target "fuzz_$t"); done
nice cmake --build "$B" -j"${FUZZ_BUILD_JOBS:-2}" "${build[@]}"
mkdir -p "$B/fuzz-logs" "$B/fuzz-crashes" "$B/fuzz-corpus"
# The scratch replica of each target lives in memory when it can.
tmp="${TMPDIR:-/tmp}"
[ -d /dev/shm ] && tmp=/dev/shm
pids=()
running=0
for t in "${targets[@]}"; do
	mkdir -p "$B/fuzz-corpus/$t"
	if [ -n "${FUZZ_JOBS:-}" ] && [ "$running" -ge "$FUZZ_JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	# detect_leaks: a leak per input is a finding; the replica is freed at exit.
	TMPDIR="$tmp" nice "$B/tests/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$B/fuzz-crashes/$t-" \
		"$B/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"$B/fuzz-logs/$t.log" 2>&1 &
	pids+=($!)
	running=$((running + 1))
done
fail=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || fail=1
done
for t in "${targets[@]}"; do
	log="$B/fuzz-logs/$t.log"
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') || execs="?"
	rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$') || rate="?"
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1) || cov=""
	crash=$(find "$B/fuzz-crashes" -name "$t-*" | wc -l)
	printf '%-8s %10s execs %6s exec/s  %-20s corpus %4s  crashers %s\n' "$t" "$execs" "$rate" "$cov" \
		"$(ls "$B/fuzz-corpus/$t" | wc -l)" "$crash"
	[ "$crash" -eq 0 ] || fail=1
done
exit "$fail"
