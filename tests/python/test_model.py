"""sieve.load: logits equal to the C++ API's bit for bit, NumPy round trips, generation equal to
the CLI's, perplexity, the tokenizer."""

import math
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import sieve
from conftest import run_helper, run_sieve

IDS = [1, 17, 250, 3, 99, 511, 42]


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> sieve.Model:
    return sieve.load(tiny_model)


def test_logits_equal_the_cpp_apis_bit_for_bit(model: sieve.Model, tiny_model: Path, tmp_path: Path):
    reference = tmp_path / "logits.f32"
    run_helper("logits", str(tiny_model), str(reference), *map(str, IDS))
    expected = np.fromfile(reference, dtype=np.float32).reshape(len(IDS), -1)
    logits = model.logits(IDS)
    assert logits.tobytes() == expected.tobytes()


def test_logits_keep_dtype_and_shape_without_a_copy(model: sieve.Model):
    vocab = model.config["vocab_size"]
    one = model.logits(np.array(IDS, dtype=np.int64))
    assert one.dtype == np.float32 and one.shape == (len(IDS), vocab)
    assert not one.flags.owndata  # a view of the engine's tensor
    assert one.flags.c_contiguous

    batch = np.array([IDS, IDS[::-1]], dtype=np.int32)
    two = model.logits(batch)
    assert two.dtype == np.float32 and two.shape == (2, len(IDS), vocab)
    # Rows of a batch are independent (equal up to the GEMM blocking a batch size picks).
    assert np.allclose(two[0], one, rtol=1e-5, atol=1e-5)
    assert batch.dtype == np.int32  # the caller's array is untouched


def test_tokenizer_round_trips(model: sieve.Model, tiny_model: Path):
    tokenizer = sieve.Tokenizer(tiny_model)
    assert tokenizer.vocab_size == model.tokenizer.vocab_size == model.config["vocab_size"]
    text = "abc defgh ij."
    ids = tokenizer.encode(text)
    assert all(isinstance(i, int) for i in ids)
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(np.array(ids, dtype=np.int64)) == text
    assert tokenizer.decode(np.array(ids, dtype=np.uint16)) == text


def test_greedy_generation_equals_the_clis(model: sieve.Model, tiny_model: Path):
    prompt = "abc de"
    text = model.generate(prompt, max_new_tokens=12, temperature=0)
    cli = run_sieve("generate", "--model", str(tiny_model), "--prompt", prompt, "--max-new-tokens", "12",
                    "--temperature", "0")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout == prompt + text + "\n"
    assert "".join(model.stream(prompt, max_new_tokens=12, temperature=0)) == text


def test_sampling_is_reproducible_by_seed(model: sieve.Model):
    first = model.generate("abc", max_new_tokens=8, temperature=1.0, top_k=20, seed=5)
    assert model.generate("abc", max_new_tokens=8, temperature=1.0, top_k=20, seed=5) == first


def test_a_dropped_stream_stops(model: sieve.Model):
    stream = model.stream("abc", max_new_tokens=100, temperature=0, stop_at_eos=False)
    next(stream)
    del stream
    assert model.generate("abc", max_new_tokens=2, temperature=0) is not None  # the model is free again


def test_perplexity_of_random_weights_is_near_the_vocabulary_size(model: sieve.Model):
    perplexity = model.perplexity("abc defgh ij klm nop. qrs tu vwx yz ab cd.")
    vocab = model.config["vocab_size"]
    assert math.isfinite(perplexity) and vocab / 4 < perplexity < vocab * 4


def test_num_parameters_and_config(model: sieve.Model):
    config = model.config
    assert config["hidden_size"] == 64
    assert model.num_parameters > config["vocab_size"] * config["hidden_size"]


def test_the_gil_is_released_while_the_engine_computes(model: sieve.Model):
    def ticks_during(text):
        """Runs model.perplexity(text) in a thread; its start and end, and this thread's ticks."""
        span = {}

        def compute():
            span["start"] = time.monotonic()
            model.perplexity(text)
            span["end"] = time.monotonic()

        worker = threading.Thread(target=compute)
        ticks = []
        worker.start()
        while worker.is_alive():
            ticks.append(time.monotonic())
        worker.join()
        return span["start"], span["end"], ticks

    # A text long enough to compute for a while on this machine (doubled until it does), so that
    # the check below does not depend on the machine's speed.
    text = "abc defgh ij klm nop. qrs tu vwx yz ab cd. " * 200
    for _ in range(12):
        start, end, ticks = ticks_during(text)
        if end - start > 0.2:
            break
        text *= 2
    # Held through the computation, the GIL would leave this thread no tick in its middle half.
    middle = [t for t in ticks if start + (end - start) / 4 < t < end - (end - start) / 4]
    assert middle
