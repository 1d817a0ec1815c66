#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang in build-fuzz/ and runs each one for
# FUZZ_SECONDS seconds (default 30), starting from its seeds in tests/fuzz/corpus/<target>/ and
# its dictionary tests/fuzz/<target>.dict. Exits non-zero if a target finds a crash, a sanitizer
# report or an unexpected exception; the input that did it is saved as
# build-fuzz/artifacts/<target>-crash-*, and `build-fuzz/tests/fuzz/fuzz_<target> <file>`
# replays it.
#
# Environment: FUZZ_SECONDS (per target), FUZZ_TARGETS (default: all), FUZZ_BUILD_DIR (default
# <repo>/build-fuzz), FUZZ_JOBS (build parallelism, default 2), CC / CXX (default clang /
# clang++). ccache is used when installed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}
targets=${FUZZ_TARGETS:-"safetensors config model_dir dictd checkpoint_state adapter"}

launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
mkdir -p "$build"
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIEVE_FUZZ=ON -DSIEVE_TESTS=OFF > "$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  exit 1
}
# shellcheck disable=SC2046 # one ninja target per word
ninja -C "$build" -j "$jobs" $(printf 'fuzz_%s ' $targets)

mkdir -p "$build/artifacts"
for target in $targets; do
  # New inputs go to a working corpus in the build dir; the seeds in the tree stay as they are.
  work="$build/corpus/$target"
  mkdir -p "$work"
  dict=()
  if [ -f "$root/tests/fuzz/$target.dict" ]; then dict=(-dict="$root/tests/fuzz/$target.dict"); fi
  echo "== fuzz_$target for ${seconds}s"
  "$build/tests/fuzz/fuzz_$target" \
    -max_total_time="$seconds" \
    "${dict[@]}" \
    -artifact_prefix="$build/artifacts/$target-" \
    -print_final_stats=1 \
    "$work" "$root/tests/fuzz/corpus/$target"
done
echo "== fuzzers found nothing in ${seconds}s each"
