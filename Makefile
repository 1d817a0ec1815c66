# Thin wrapper over CMake + Ninja. `make demo` and `make test` work on a fresh Debian 12
# machine: each installs what is missing first — the demo only what Sieve itself needs, the
# tests and benchmarks also GoogleTest, clang (fuzzing) and PyTorch (golden fixtures, peers).
BUILD ?= build
JOBS ?= $(shell nproc)

# Where `make install-python` puts the package: the site-packages of Debian's python3
# (/usr/local/lib/python3.11/dist-packages).
PYTHON_SITE ?= $(shell /usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_path("platlib"))')

.PHONY: all deps deps-test deps-python configure build test demo bench python install-python clean

all: build

deps:
	@scripts/install-deps.sh

deps-test:
	@scripts/install-deps.sh --test

deps-python:
	@scripts/install-deps.sh --python

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

# The Python package (docs/python.md): build/python/sieve, importable with PYTHONPATH=build/python.
# `make build` builds it too when pybind11 and the Python headers are installed.
python: deps-python configure
	cmake --build $(BUILD) -j $(JOBS) --target python

# Copies the package into Debian's python3 (not through pip: Debian's python3 refuses pip
# installs outside a virtual environment, PEP 668).
install-python: python
	rm -rf $(DESTDIR)$(PYTHON_SITE)/sieve
	mkdir -p $(DESTDIR)$(PYTHON_SITE)
	cp -r $(BUILD)/python/sieve $(DESTDIR)$(PYTHON_SITE)/sieve
	@echo "installed the sieve package into $(DESTDIR)$(PYTHON_SITE)/sieve"

bench: deps-test configure
	cmake --build $(BUILD) -j $(JOBS)
	scripts/bench.sh

clean:
	rm -rf $(BUILD) build-san
