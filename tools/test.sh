#!/usr/bin/env bash
# The default test suite (budget: 12 minutes on a 2-core machine): installs
# missing packages, builds with -Werror, runs every unit test (in parallel)
# and every integration test (in parallel where they allow, see
# tests/CMakeLists.txt), then builds again with ASan+UBSan and runs the unit
# tests and the sync integration tests there. Long soaks, fuzzing and big
# benchmarks are separate (README, "Tests and benchmarks").
# For the edit-test loop: (cd build && ctest -L fast -j2), a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh test
jobs=$(nproc 2>/dev/null || echo 2)
stage() { echo "== $* (at $((SECONDS / 60))m$((SECONDS % 60))s)"; }

stage "build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSYNC_ENABLE_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
stage "unit tests"
(cd build && ctest --output-on-failure -j"$jobs" -L unit)
stage "integration tests"
(cd build && ctest --output-on-failure -j"$jobs" -L integration)

stage "build (ASan+UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSSYNC_SANITIZE="address;undefined" \
	-DSSYNC_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
stage "tests under sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Sanitizers look for memory errors, not for rare schedules: a few random
# convergence schedules are enough here (the build above ran 24).
(cd build-asan && SSYNC_SCHEDULES=${SSYNC_SCHEDULES_ASAN:-8} ctest --output-on-failure -j"$jobs" -L unit)
(cd build-asan && ctest --output-on-failure -j"$jobs" -L integration -R 't_node_cli|t_sync_(transports|adversarial|usb)|t_trust')
stage "done"
