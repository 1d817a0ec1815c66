#!/usr/bin/python3
"""Writes the golden-test fixtures under tests/fixtures/ (see tests/fixtures/README.md).

For each variant it writes a model directory (config.json + model.safetensors with
the initial float32 weights) and expected.safetensors with what PyTorch computes
from exactly those weights: logits, loss, the gradient of every parameter, and a
10-step AdamW loss curve on the same batch.

Reference precision: the f32 weights are widened to float64 and the forward,
backward and AdamW steps all run in float64; results are rounded to f32 only
when stored. A float64 reference carries no error of its own at f32 tolerance,
so a C++ test can compare its f32 results against it with tight tolerances and
any mismatch is Sieve's.

Run with Debian's torch:  /usr/bin/python3 scripts/make_golden_fixture.py
The output is byte-identical from run to run on the same machine and torch.
"""

import json
import os
import struct
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
import peer_model as pm  # noqa: E402  (shared with the benchmark peers)

FIXTURE_DIR = os.path.join(REPO, "tests", "fixtures")

BATCH, TOKENS = 2, 12
ADAMW = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
CURVE_STEPS = 10

VARIANTS = {
    # GQA (6 query heads share 2 kv heads), untied lm_head, 2 layers.
    "golden_llama": pm.make_config(
        vocab_size=96, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
        num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=64,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2),
    # Plain multi-head attention and tied embeddings (lm_head reads embed_tokens).
    "golden_llama_tied": pm.make_config(
        vocab_size=96, hidden_size=48, intermediate_size=80, num_hidden_layers=1,
        num_attention_heads=6, num_key_value_heads=6, max_position_embeddings=64,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2),
}

_DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer.

    Layout: u64 little-endian header length N, N bytes of JSON header, raw data.
    The header maps each name to {"dtype", "shape", "data_offsets": [begin, end]}
    (offsets relative to the start of the data) plus "__metadata__" (str -> str).
    Tensors are laid out in name order; the header is padded with spaces to a
    multiple of 8 so the data starts 8-byte aligned.
    """
    header = {"__metadata__": dict(metadata)}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        blob = t.numpy().astype(_DTYPES[t.dtype][1], copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors_header(path):
    """Parses the header back; used to check what was written."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data_size = os.fstat(f.fileno()).st_size - 8 - n
    return header, data_size


def check_written(path, tensors):
    header, data_size = read_safetensors_header(path)
    end = 0
    for name in sorted(tensors):
        entry = header[name]
        begin, stop = entry["data_offsets"]
        assert begin == end, f"{path}: {name} not contiguous"
        assert list(tensors[name].shape) == entry["shape"], f"{path}: {name} shape"
        end = stop
    assert end == data_size, f"{path}: data size {data_size} != {end}"


def golden_batch(config):
    """input_ids and targets [B, T]: one random sequence of T+1 tokens per row, shifted."""
    seq = torch.randint(0, config["vocab_size"], (BATCH, TOKENS + 1), dtype=torch.int64)
    return seq[:, :-1].contiguous(), seq[:, 1:].contiguous()


def make_variant(name, config):
    out_dir = os.path.join(FIXTURE_DIR, name)
    os.makedirs(out_dir, exist_ok=True)

    # Weights are drawn in f32 and stored as-is; the reference starts from exactly them.
    params32 = pm.init_parameters(config, norm_noise=0.1, std=0.02, dtype=torch.float32)
    input_ids, targets = golden_batch(config)

    model = pm.LlamaLM(config, {n: p.double() for n, p in params32.items()})
    logits = model(input_ids)
    loss = pm.lm_loss(logits, targets)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_weights()}

    # Loss curve: AdamW on the same batch, each loss recorded before its step.
    model.zero_grad(set_to_none=True)
    opt = pm.make_adamw(model, lr=ADAMW["lr"], weight_decay=ADAMW["weight_decay"],
                        betas=ADAMW["betas"], eps=ADAMW["eps"])
    curve = []
    for _ in range(CURVE_STEPS):
        opt.zero_grad(set_to_none=True)
        step_loss = pm.lm_loss(model(input_ids), targets)
        step_loss.backward()
        curve.append(step_loss.item())
        opt.step()
    assert curve[0] == loss.item()

    meta = {"generator": "scripts/make_golden_fixture.py", "reference_dtype": "float64"}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")

    model_path = os.path.join(out_dir, "model.safetensors")
    write_safetensors(model_path, params32, {**meta, "format": "pt"})
    check_written(model_path, params32)

    expected = {
        "input_ids": input_ids,
        "targets": targets,
        "logits": logits.detach().float(),
        "loss": loss.detach().float().reshape(1),
        "loss_curve": torch.tensor(curve, dtype=torch.float64).float(),
    }
    for n, g in grads.items():
        expected["grad." + n] = g.float()
    expected_meta = {
        **meta,
        "batch": str(BATCH), "tokens": str(TOKENS),
        "adamw": json.dumps({**ADAMW, "steps": CURVE_STEPS, "decay_on": "all parameters",
                             "schedule": "constant", "clip": "none"}, sort_keys=True),
    }
    expected_path = os.path.join(out_dir, "expected.safetensors")
    write_safetensors(expected_path, expected, expected_meta)
    check_written(expected_path, expected)

    print(f"{name}: loss {loss.item():.6f} -> {curve[-1]:.6f} after {CURVE_STEPS} AdamW steps; "
          f"{len(params32)} parameters; wrote {out_dir}")


def main():
    # One thread so reductions run in one fixed order: same bytes every run.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for name, config in VARIANTS.items():
        make_variant(name, config)


if __name__ == "__main__":
    main()
