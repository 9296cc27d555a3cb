#!/usr/bin/env bash
# Installs what is needed, builds signet twice (warnings as errors; then with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test in both.
# Then runs each fuzz target for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
JOBS=$(nproc)

echo "== build (release, -Werror) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIGNET_WERROR=ON >/dev/null
cmake --build build -j"$JOBS"
echo "== tests =="
ctest --test-dir build --output-on-failure -j"$JOBS"

echo "== build (ASan + UBSan) =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSIGNET_WERROR=ON -DSIGNET_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$JOBS"
echo "== tests under sanitizers =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$JOBS"

echo "== fuzz targets (bounded) =="
CC=clang cmake -S . -B build-fuzz -DSIGNET_FUZZ=ON -DSIGNET_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$JOBS"
bash scripts/fuzz.sh build-fuzz "${SIGNET_FUZZ_SECONDS:-20}"
