#!/usr/bin/env bash
# Installs the Debian 12 packages Sieve builds, tests and runs with. Does nothing when all
# are present; otherwise runs apt-get (as root, or through sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev                      # libFuzzer targets
  libdnnl-dev                                   # oneDNN: matmul f32/bf16/int8
  ocl-icd-opencl-dev                            # dnnl's CMake config requires OpenCL (only a Recommends)
  libsentencepiece-dev sentencepiece            # tokenizer
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-torch python3-numpy           # golden fixtures and benchmark peers
  libopenblas0-pthread                          # so the PyTorch peer gets an optimised BLAS
  dict-gcide dict-foldoc                        # bundled English and computing text
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
