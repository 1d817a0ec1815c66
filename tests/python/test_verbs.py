"""sieve.finetune, sieve.quantize and sieve.export: what the CLI verbs write, from Python."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

import sieve
from conftest import SIEVE


def test_lora_finetune_then_generate(tiny_model: Path, corpus: Path, tmp_path: Path):
    out = tmp_path / "lora"
    sieve.finetune(tiny_model, [str(corpus)], out, lora=True, steps=3, batch=2, eval_windows=2, merge=True)
    adapter = out / "adapter.safetensors"
    assert adapter.is_file()
    tuned = sieve.load(tiny_model, adapter=adapter)
    merged = sieve.load(out / "merged")
    assert np.array_equal(tuned.logits([1, 2, 3]), merged.logits([1, 2, 3]))
    assert tuned.generate("abc", max_new_tokens=5, temperature=0) == merged.generate(
        "abc", max_new_tokens=5, temperature=0
    )


def test_finetune_rejects_merge_without_lora(tiny_model: Path, corpus: Path, tmp_path: Path):
    with pytest.raises(sieve.UserError, match="--merge needs --lora"):
        sieve.finetune(tiny_model, [str(corpus)], tmp_path / "out", merge=True)


def test_quantize_int8_loads_and_runs(tiny_model: Path, tmp_path: Path):
    out = tmp_path / "int8"
    sieve.quantize(tiny_model, out, scheme="int8")
    quantized = sieve.load(out)
    assert quantized.config["quantization"]["scheme"] == "int8"
    reference = sieve.load(tiny_model).logits([1, 2, 3])
    logits = quantized.logits([1, 2, 3])
    assert logits.shape == reference.shape
    assert np.abs(logits - reference).max() < 0.1 * np.abs(reference).max()


def test_quantize_rejects_an_unknown_scheme(tiny_model: Path, tmp_path: Path):
    with pytest.raises(sieve.UserError, match="--scheme must be int8, int4 or mixed"):
        sieve.quantize(tiny_model, tmp_path / "q", scheme="int3")


def test_export_gguf(tiny_model: Path, tmp_path: Path):
    out = tmp_path / "tiny.gguf"
    sieve.export(tiny_model, "gguf", out, type="f16")
    assert out.read_bytes()[:4] == b"GGUF"


def test_export_onnx_runs_the_cli_and_writes_what_it_writes(tiny_model: Path, tmp_path: Path):
    out = tmp_path / "py" / "m.onnx"
    out.parent.mkdir()
    sieve.export(tiny_model, "onnx", out)
    cli = tmp_path / "cli" / "m.onnx"
    cli.parent.mkdir()
    subprocess.run([SIEVE, "export", "--model", str(tiny_model), "--format", "onnx", "--out", str(cli)], check=True)
    for name in ("m.onnx", "m_with_past.onnx"):
        assert (out.parent / name).read_bytes() == (cli.parent / name).read_bytes()


def test_export_onnx_errors_are_user_errors(tiny_model: Path, tmp_path: Path):
    with pytest.raises(sieve.UserError, match="--type is for --format gguf"):
        sieve.export(tiny_model, "onnx", tmp_path / "m.onnx", type="q8_0")


def test_export_rejects_an_unknown_format(tiny_model: Path, tmp_path: Path):
    with pytest.raises(sieve.UserError, match="--format must be one of"):
        sieve.export(tiny_model, "tflite", tmp_path / "x")
