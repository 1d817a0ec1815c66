#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) in the clang sanitizer build build-san/ (the one the
# ASan unit tests use, scripts/configure-sanitized.sh) and runs each one for FUZZ_SECONDS seconds
# (default 30), starting from its seeds in tests/fuzz/corpus/<target>/ and its dictionary
# tests/fuzz/<target>.dict. Exits non-zero if a target finds a crash, a sanitizer report or an
# unexpected exception; the input that did it is saved as build-san/artifacts/<target>-crash-*,
# and `build-san/tests/fuzz/fuzz_<target> <file>` replays it.
#
# Environment: FUZZ_SECONDS (per target), FUZZ_TARGETS (default: all), FUZZ_BUILD_DIR (default
# <repo>/build-san), FUZZ_JOBS (build parallelism, default 2), CC / CXX (default clang /
# clang++).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD_DIR:-$root/build-san}
jobs=${FUZZ_JOBS:-2}
targets=${FUZZ_TARGETS:-"safetensors config model_dir dictd checkpoint_state adapter quantized_model_dir torch_pickle torch_checkpoint"}

"$root/scripts/configure-sanitized.sh" "$build"
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
