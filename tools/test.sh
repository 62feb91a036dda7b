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
# The fast unwinder (the default): the slow one costs ~5x on every malloc;
# the tests that need it for a libgit2 leak suppression ask for it
# themselves (tests/lsan.supp, tests/unit/libgit2_san.c).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Sanitizers look for memory errors, not for rare orders: every code path
# once is what they need, so the property tests run a few cases here
# (convergence schedules, merge orders, policy orders), and test_checkpoint,
# whose point is how far the WAL grows over 15,000 commits, is left out
# (every test that writes runs the checkpoint thread).
(cd build-asan && SSYNC_SCHEDULES=${SSYNC_SCHEDULES_ASAN:-4} SSYNC_MERGE_ORDERS=3 SSYNC_ORDER_TRIALS=6 \
	ctest --output-on-failure -j"$jobs" -L unit -E 'unit.test_checkpoint$')
# End to end, what the unit tests do not reach: the CLI's commands and
# hostile branches through the real binary. (Transports, USB relays and the
# district's trust run the code the unit tests ran under ASan above; under
# ASan on the loaded 2-core machine t_trust_district took 300 s,
# t_sync_adversarial 390 s.)
(cd build-asan && ctest --output-on-failure -j"$jobs" -L integration -R 't_node_cli|t_sync_adversarial')
stage "done"
