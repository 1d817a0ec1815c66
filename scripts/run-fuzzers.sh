#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang in build-fuzz/ and runs each one for
# FUZZ_SECONDS seconds (default 30). Exits non-zero if a target finds a crash, a sanitizer
# report or an unexpected exception; the input that did it is saved as
# build-fuzz/artifacts/<target>-crash-*, and `build-fuzz/tests/fuzz/fuzz_<target> <file>`
# replays it.
#
# Environment: FUZZ_SECONDS (per target), FUZZ_BUILD_DIR (default <repo>/build-fuzz),
# FUZZ_JOBS (build parallelism, default 2), CC / CXX (default clang / clang++).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}

mkdir -p "$build"
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIEVE_FUZZ=ON -DSIEVE_TESTS=OFF > "$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  exit 1
}
ninja -C "$build" -j "$jobs" fuzz_safetensors fuzz_config

mkdir -p "$build/artifacts"
for target in safetensors config; do
  # New inputs go to a working corpus in the build dir; the seeds in the tree stay as they are.
  work="$build/corpus/$target"
  mkdir -p "$work"
  echo "== fuzz_$target for ${seconds}s"
  "$build/tests/fuzz/fuzz_$target" \
    -max_total_time="$seconds" \
    -dict="$root/tests/fuzz/$target.dict" \
    -artifact_prefix="$build/artifacts/$target-" \
    -print_final_stats=1 \
    "$work" "$root/tests/fuzz/corpus/$target"
done
echo "== fuzzers found nothing in ${seconds}s each"
