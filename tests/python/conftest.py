"""Fixtures of the Python package's tests: the tiny model directory and made-up corpus of the C++
tests (python_test_helper), and the `sieve` CLI, whose results the package must match. ctest sets
PYTHONPATH, SIEVE_BINARY and SIEVE_TEST_HELPER (tests/python/CMakeLists.txt)."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

HELPER = os.environ.get("SIEVE_TEST_HELPER", "build/tests/python/python_test_helper")
SIEVE = os.environ.get("SIEVE_BINARY", "build/sieve")


def run_helper(*args: str) -> None:
    subprocess.run([HELPER, *args], check=True)


def run_sieve(*args: str) -> subprocess.CompletedProcess:
    """The CLI's result, whatever its exit status."""
    return subprocess.run([SIEVE, *args], capture_output=True, text=True)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared")


@pytest.fixture(scope="session")
def tiny_model(shared_dir: Path) -> Path:
    """A tiny-preset model directory with random weights (not to be written to)."""
    path = shared_dir / "tiny"
    run_helper("model", str(path))
    return path


@pytest.fixture(scope="session")
def corpus(shared_dir: Path) -> Path:
    path = shared_dir / "corpus.txt"
    run_helper("corpus", str(path), "3")
    return path


@pytest.fixture
def untrained_model(tmp_path: Path, tiny_model: Path) -> Path:
    """A copy of the tiny model without weights: config.json and tokenizer.model, to train from scratch."""
    path = tmp_path / "model"
    path.mkdir()
    for name in ("config.json", "tokenizer.model"):
        (path / name).write_bytes((tiny_model / name).read_bytes())
    return path


@pytest.fixture(scope="session")
def small_corpus(shared_dir: Path, corpus: Path) -> Path:
    """60 documents of two sentences of the made-up corpus (about 5,000 tokens): the seed's call
    trains 10 epochs of it in seconds, and one of its documents falls into the 1% validation split."""
    sentences = [s for s in re.split(r"\.\s*", corpus.read_text()) if s]
    path = shared_dir / "small.txt"
    path.write_text("\n\n".join(f"{sentences[2 * i]}. {sentences[2 * i + 1]}." for i in range(60)) + "\n")
    return path


@pytest.fixture
def short_context_model(untrained_model: Path) -> Path:
    """The untrained tiny model with a context of 32 tokens, so that an optimizer step of the seed's
    call (8 sequences × 8 accumulated micro-batches) is 2,048 tokens."""
    config_file = untrained_model / "config.json"
    config = json.loads(config_file.read_text())
    config["max_position_embeddings"] = 32
    config_file.write_text(json.dumps(config))
    return untrained_model
