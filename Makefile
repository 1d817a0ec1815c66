# Thin wrapper over CMake + Ninja. `make demo` and `make test` work on a fresh Debian 12
# machine: each installs what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test test-unit test-sanitize test-fuzz demo bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Unit + integration tests, then the same unit tests under ASan+UBSan, then a short fuzz run.
test: build
	scripts/run-tests.sh

demo: build
	scripts/demo.sh

bench: build
	scripts/bench.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
