#!/usr/bin/env bash
# Everything `make test` runs: the unit and integration tests (Release build; the kernel, op,
# model and training tests also on the AVX2 and scalar paths, tests/CMakeLists.txt), the unit
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer (on the machine's own
# instruction set only), and a short libFuzzer run of the loading path of untrusted files.
# Exits non-zero if any part fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Runs ctest, keeping its summary line ("100% tests passed, 0 tests failed out of N").
run_ctest() {
  ctest "$@" --output-on-failure -j "$jobs" | tee -a "$log"
  return "${PIPESTATUS[0]}"
}

echo "== unit and integration tests (build/)"
run_ctest --test-dir build

echo "== unit tests under ASan + UBSan (build-san/, clang)"
scripts/configure-sanitized.sh build-san
cmake --build build-san -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest --test-dir build-san --label-exclude isa

echo "== fuzzing the loading of untrusted files (build-san/)"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} FUZZ_BUILD_DIR=build-san scripts/run-fuzzers.sh

# Every part passed (set -e stops at the first failure): one closing line for the whole run.
passed=$(awk '/tests failed out of/ { total += $NF } END { print total }' "$log")
echo "make test: $passed passed, 0 failed"
