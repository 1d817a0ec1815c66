#!/usr/bin/env bash
# Installs the test-only verifiers that come from npm into a project-local, git-ignored folder
# (default <repo>/.cache/verifiers; tests/llama_cpp/CMakeLists.txt looks there, or wherever the
# CMake cache variable SIEVE_VERIFIERS_DIR points):
#   npm/node_modules/node-llama-cpp, @node-llama-cpp/linux-x64   llama.cpp's libllama and ggml CPU
#                                                                libraries, and its source as a git bundle
#   llama.cpp/                                                   that bundle cloned: llama.h, the ggml
#                                                                headers, the vocabulary test files
#   npm/node_modules/onnxruntime-node                            ONNX Runtime's CPU library and its Node
#                                                                binding (tests/onnx runs the ONNX exports)
#   npm/node_modules/playwright-core                             drives Debian's chromium headless
#                                                                (tests/dashboard_browser: the web app)
# Does nothing when the pinned versions are already there. Needs node and npm
# (scripts/install-deps.sh --test installs them) and the npm registry. The sieve binary never
# uses any of this.
#   SIEVE_VERIFIERS_DIR   where to install (default <repo>/.cache/verifiers)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${SIEVE_VERIFIERS_DIR:-$root/.cache/verifiers}
llama_version=3.22.1
onnxruntime_version=1.22.0
playwright_version=1.65.2

npm_dir="$dir/npm"
# The installed version of npm package $1 in $npm_dir ("" when absent).
installed_version() {
  local package_json="$npm_dir/node_modules/$1/package.json"
  [ -f "$package_json" ] && sed -n 's/^ *"version": "\(.*\)",/\1/p' "$package_json" | head -1
  return 0
}
# npm install with these arguments into $npm_dir (a private package.json made first).
npm_install() {
  mkdir -p "$npm_dir"
  [ -f "$npm_dir/package.json" ] || echo '{"name": "sieve-verifiers", "private": true}' > "$npm_dir/package.json"
  (cd "$npm_dir" && npm install --no-audit --no-fund "$@")
}

if [ "$(installed_version node-llama-cpp)" != "$llama_version" ] ||
   [ ! -d "$npm_dir/node_modules/@node-llama-cpp/linux-x64/bins" ]; then
  echo "install-verifiers: node-llama-cpp $llama_version (llama.cpp's libraries) into $npm_dir"
  # --ignore-scripts: the install script would download or build other variants;
  # --omit=optional: skips the CUDA and Vulkan builds.
  npm_install --ignore-scripts --omit=optional "node-llama-cpp@$llama_version" "@node-llama-cpp/linux-x64@$llama_version"
  rm -rf "$dir/llama.cpp"
fi

if [ ! -f "$dir/llama.cpp/include/llama.h" ]; then
  echo "install-verifiers: llama.cpp source (headers, vocabulary tests) from the package's git bundle"
  rm -rf "$dir/llama.cpp"
  git -c advice.detachedHead=false clone -q "$npm_dir/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$dir/llama.cpp"
fi

if [ "$(installed_version onnxruntime-node)" != "$onnxruntime_version" ]; then
  echo "install-verifiers: onnxruntime-node $onnxruntime_version (ONNX Runtime's CPU library) into $npm_dir"
  # --ignore-scripts: the install script would download the GPU libraries (and fails offline);
  # the CPU library ships in the package.
  npm_install --ignore-scripts "onnxruntime-node@$onnxruntime_version"
fi

if [ "$(installed_version playwright-core)" != "$playwright_version" ]; then
  echo "install-verifiers: playwright-core $playwright_version (drives Debian's chromium) into $npm_dir"
  # playwright-core downloads no browser: the tests use /usr/bin/chromium (install-deps.sh --test).
  # --ignore-scripts --omit=optional as above, so this install leaves node-llama-cpp's as it is.
  npm_install --ignore-scripts --omit=optional "playwright-core@$playwright_version"
fi
