# Thin wrapper over CMake + Ninja. `make demo` and `make test` work on a fresh Debian 12
# machine: each installs what is missing first — the demo only what Sieve itself needs, the
# tests and benchmarks also GoogleTest, clang (fuzzing) and PyTorch (golden fixtures, peers).
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps deps-test configure build test demo bench clean

all: build

deps:
	@scripts/install-deps.sh

deps-test:
	@scripts/install-deps.sh --test

# Configures anew each time, so that GoogleTest installed after a first `make demo` is found.
configure:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

# Unit + integration tests (also on the slower instruction sets), then the same unit tests under
# ASan+UBSan, then a short fuzz run.
test: deps-test configure
	cmake --build $(BUILD) -j $(JOBS)
	scripts/run-tests.sh

# The demo needs only the CLI.
demo: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target sieve
	scripts/demo.sh

bench: deps-test configure
	cmake --build $(BUILD) -j $(JOBS)
	scripts/bench.sh

clean:
	rm -rf $(BUILD) build-san
