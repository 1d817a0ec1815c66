#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) in the clang sanitizer build build-san/ (the one the
# ASan unit tests use, scripts/configure-sanitized.sh) and runs each one for FUZZ_SECONDS seconds
# (default 30), starting from its seeds in tests/fuzz/corpus/<target>/ and its dictionary
# tests/fuzz/<target>.dict. Exits non-zero if a target finds a crash, a sanitizer report or an
# unexpected exception; the input that did it is saved as build-san/artifacts/<target>-crash-*,
# and `build-san/tests/fuzz/fuzz_<target> <file>` replays it.
#
# Environment: FUZZ_SECONDS (per target), FUZZ_TARGETS (default: all), FUZZ_BUILD_DIR (default
# <repo>/build-san), FUZZ_JOBS (build parallelism and targets fuzzed at once, default 2), CC /
# CXX (default clang / clang++).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD_DIR:-$root/build-san}
jobs=${FUZZ_JOBS:-2}
targets=${FUZZ_TARGETS:-"safetensors config model_dir dictd idx image checkpoint_state adapter quantized_model_dir torch_pickle torch_checkpoint gguf wav run_metrics dashboard_request prometheus_text"}

"$root/scripts/configure-sanitized.sh" "$build"
# shellcheck disable=SC2046 # one ninja target per word
ninja -C "$build" -j "$jobs" $(printf 'fuzz_%s ' $targets)

mkdir -p "$build/artifacts" "$build/fuzz-logs"
# One target: its output to fuzz-logs/<target>.log, its exit status beside it.
fuzz_target() {
  local target=$1 log="$build/fuzz-logs/$1.log"
  # New inputs go to a working corpus in the build dir; the seeds in the tree stay as they are.
  local work="$build/corpus/$target"
  mkdir -p "$work"
  local dict=()
  if [ -f "$root/tests/fuzz/$target.dict" ]; then dict=(-dict="$root/tests/fuzz/$target.dict"); fi
  local status=0
  "$build/tests/fuzz/fuzz_$target" \
    -max_total_time="$seconds" \
    "${dict[@]}" \
    -artifact_prefix="$build/artifacts/$target-" \
    -print_final_stats=1 \
    "$work" "$root/tests/fuzz/corpus/$target" > "$log" 2>&1 || status=$?
  echo "$status" > "$log.status"
}

# FUZZ_JOBS targets at a time: each fuzzer is one process on one core.
for target in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "== fuzz_$target for ${seconds}s"
  fuzz_target "$target" &
done
wait

failed=0
for target in $targets; do
  log="$build/fuzz-logs/$target.log"
  if [ "$(cat "$log.status")" != 0 ]; then
    echo "== fuzz_$target FAILED; its output:"
    cat "$log"
    failed=1
  else
    echo "== fuzz_$target: $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$log" || echo 'ran')"
  fi
done
[ "$failed" = 0 ] || exit 1
echo "== fuzzers found nothing in ${seconds}s each"
