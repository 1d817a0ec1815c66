#!/usr/bin/env bash
# Installs the Debian 12 packages Sieve needs. Does nothing when all are present; otherwise runs
# apt-get (as root, or through sudo).
#   scripts/install-deps.sh          what building and running Sieve needs (`make demo`), then
#                                    the dashboard's npm packages (scripts/install-web.sh)
#   scripts/install-deps.sh --python that plus the Python module's build needs (`make python`)
#   scripts/install-deps.sh --test   that plus what the tests and benchmarks use (`make test`,
#                                    `make bench`): GoogleTest, the fuzzers' clang, PyTorch,
#                                    then the npm verifiers
#                                    (scripts/install-verifiers.sh: llama.cpp's libraries,
#                                    ONNX Runtime)
set -euo pipefail

build_and_run=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev                                   # oneDNN: matmul f32/bf16/int8
  ocl-icd-opencl-dev                            # dnnl's CMake config requires OpenCL (only a Recommends)
  libsentencepiece-dev                          # tokenizer
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc grpc-proto  # `sieve serve` gRPC
  libcpp-httplib-dev                            # `sieve serve` HTTP
  libzip-dev                                    # PyTorch checkpoints (zip archives): import / export
  libonnx-dev                                   # onnx.proto for `sieve export --format onnx`
  dict-gcide                                    # the demo's bundled English text
  libfftw3-dev libsoxr-dev                      # audio: log-mel STFT, resampling of WAV input
  espeak-ng sox                                 # speech synthesis for the spoken data (run as processes: GPL)
  festival festvox-kallpc16k                    # a second speech engine: the spoken data's held-out festival voices
  libpng-dev                                    # PNG image files
  nodejs                                        # npm: the dashboard's front-end packages, built into the binary
  dataset-fashion-mnist wordnet-base            # `sieve data build trifashion`
)
python_module=(
  pybind11-dev python3-dev                      # the Python package's extension module
)
test_and_bench=(
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev                      # libFuzzer targets
  python3 python3-torch python3-numpy           # golden fixtures and benchmark peers
  python3-sentencepiece                         # the serving peer tokenizes like Sieve
  libopenblas0-pthread                          # so the PyTorch peer gets an optimised BLAS
  dict-foldoc                                   # computing text for the corpus tests
  git                                           # llama.cpp's source bundle (scripts/install-verifiers.sh)
  python3-onnx                                  # onnx.checker on the ONNX exports
  python3-pytest                                # the Python package's tests
  chromium                                      # the dashboard's browser tests (playwright-core)
)

packages=("${build_and_run[@]}")
case "${1:-}" in
  "") ;;
  --python) packages+=("${python_module[@]}") ;;
  --test) packages+=("${python_module[@]}" "${test_and_bench[@]}") ;;
  *) echo "usage: $0 [--python|--test]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Debian's npm, unless the installed Node.js brings its own (NodeSource's does, and conflicts with it).
if ! command -v npm > /dev/null; then
  missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
"$(dirname "$0")/install-web.sh"
if [ "${1:-}" = "--test" ]; then
  "$(dirname "$0")/install-verifiers.sh"
fi
