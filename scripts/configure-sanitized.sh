#!/usr/bin/env bash
# Configures build-san/ (or $1): clang with AddressSanitizer + UndefinedBehaviorSanitizer, the
# unit tests and the libFuzzer targets in one build, so `make test` compiles the sanitized tree
# once for both. ccache is used when installed. -O1 with line tables only: sanitizer reports keep
# file:line, and the tree compiles in well under the time -O2 -g takes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build-san}

launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
mkdir -p "$build"
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DSIEVE_SANITIZE=ON -DSIEVE_FUZZ=ON > "$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  exit 1
}
