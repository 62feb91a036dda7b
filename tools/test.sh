#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds, runs every unit and
# integration test, then builds again with ASan+UBSan and runs the suite there.
# Long soaks, fuzzing and big benchmarks are separate (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh test
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSYNC_ENABLE_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
(cd build && ctest --output-on-failure -j1)

echo "== build (ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSSYNC_SANITIZE="address;undefined" \
	-DSSYNC_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && SSYNC_SCHEDULES=${SSYNC_SCHEDULES_ASAN:-60} ctest --output-on-failure -j1 -L unit)
(cd build-asan && ctest --output-on-failure -j1 -L integration -R 't_node_cli|t_sync_(transports|adversarial|usb)|t_trust')
