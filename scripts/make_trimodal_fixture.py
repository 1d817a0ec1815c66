#!/usr/bin/python3
"""Writes tests/fixtures/golden_trimodal/ (see tests/fixtures/README.md): a small trimodal model
directory (config.json + model.safetensors, every parameter random) and what PyTorch computes
with its image stem and first trunk block:

  ImageStem   conv 3x3 (padding 1) -> SiLU -> conv patch x patch, stride patch
              -> tokens in row-major patch order + row, column and modality embeddings
  block       x + MHA(RMSNorm(x)) (no position rotation; each row's keys cut at its length),
              then + SwiGLU(RMSNorm(.))

Sieve's conv weights are channels-last [Co, KH, KW, Ci] and images [B, H, W, 1]; this script
permutes them to torch's layouts. Reference precision as for the golden LLaMA: f32 weights
widened to float64, everything in float64, results rounded to f32 when written.

Run with Debian's torch:  /usr/bin/python3 scripts/make_trimodal_fixture.py
The output is byte-identical from run to run on the same machine and torch.
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from make_golden_fixture import check_written, write_safetensors  # noqa: E402

OUT_DIR = os.path.join(REPO, "tests", "fixtures", "golden_trimodal")

CONFIG = {
    "architectures": ["SieveTriModalModel"], "model_type": "sieve_trimodal",
    "hidden_size": 16, "num_layers": 2, "num_heads": 2, "intermediate_size": 24, "norm_eps": 1e-5,
    "vocab_size": 20, "max_text_tokens": 8,
    "image_patch": 4, "image_channels": 3, "max_image_side": 12,
    "n_mels": 8, "audio_channels": 2, "max_audio_tokens": 4,
    "fusion_layers": 1, "fusion": "cmaf",
    "embed_dim": 6, "num_classes": 3, "num_words": 4, "num_answers": 5,
}
# Images of 12 x 8 pixels: 3 x 2 patches, so row and column positions differ.
BATCH, HEIGHT, WIDTH = 2, 12, 8
# The block's key lengths per row: the second row's last two tokens are padding.
LENGTHS = [6, 4]


def parameters(c):
    """Every parameter of nn::TriModalModel as (name, shape), as io/trimodal_layout.cpp lists them."""
    C, I, A, P = c["hidden_size"], c["intermediate_size"], c["image_channels"], c["image_patch"]
    G, AA, E = c["max_image_side"] // P, c["audio_channels"], c["embed_dim"]
    mel_out = c["n_mels"]
    for _ in range(3):
        mel_out = (mel_out + 1) // 2
    attention = [(f"{p}_proj.weight", [C, C]) for p in "qkvo"]
    mlp = [("gate_proj.weight", [I, C]), ("up_proj.weight", [I, C]), ("down_proj.weight", [C, I])]
    block = ([("attn_norm.weight", [C])] + [("attn." + n, s) for n, s in attention] + [("mlp_norm.weight", [C])]
             + [("mlp." + n, s) for n, s in mlp])
    cmaf = ([("alpha_logits", [3]), ("self_norm.weight", [C])] + [("self_attn." + n, s) for n, s in attention]
            + [("cross_norm.weight", [C]), ("context_norm.weight", [C])]
            + [("cross_attn." + n, s) for n, s in attention] + [("mlp_norm.weight", [C])]
            + [("mlp." + n, s) for n, s in mlp])
    out = [("log_temperature", [1]),
           ("image_stem.conv.weight", [A, 3, 3, 1]), ("image_stem.conv.bias", [A]),
           ("image_stem.patch.weight", [C, P, P, A]), ("image_stem.patch.bias", [C]),
           ("image_stem.row_embedding", [G, C]), ("image_stem.column_embedding", [G, C]),
           ("image_stem.modality_embedding", [C]),
           ("text_stem.position_embedding", [c["max_text_tokens"], C]), ("text_stem.modality_embedding", [C]),
           ("text_stem.tokens.weight", [c["vocab_size"], C])]
    for i in range(3):
        out += [(f"audio_stem.conv{i}.weight", [AA, 3, 3, 1 if i == 0 else AA]), (f"audio_stem.conv{i}.bias", [AA])]
    out += [("audio_stem.position_embedding", [c["max_audio_tokens"], C]), ("audio_stem.modality_embedding", [C]),
            ("audio_stem.project.weight", [C, mel_out * AA]), ("audio_stem.project.bias", [C])]
    for layer in range(c["num_layers"]):
        out += [(f"trunk.layers.{layer}.{n}", s) for n, s in block]
    out.append(("trunk.norm.weight", [C]))
    for layer in range(c["fusion_layers"]):
        out += [(f"fusion.layers.{layer}.{n}", s) for n, s in cmaf]
    out.append(("fusion.norm.weight", [C]))
    for head, rows, bias in [("class_head", c["num_classes"], True), ("word_head", c["num_words"], True),
                             ("image_projection", E, False), ("text_projection", E, False),
                             ("audio_projection", E, False), ("match_head", 1, True),
                             ("answer_head", c["num_answers"], True)]:
        out.append((head + ".weight", [rows, C]))
        if bias:
            out.append((head + ".bias", [rows]))
    return out


def random_weights(c):
    """Norm weights 1 + 0.1 N(0, 1) (a wrong norm weight shows); matrices and convs N(0, 1/fan_in),
    large enough that SiLU and softmax work off their linear parts; the rest N(0, 0.5²)."""
    weights = {}
    for name, shape in parameters(c):
        if "norm" in name:
            w = 1 + 0.1 * torch.randn(shape)
        elif len(shape) >= 2 and "embedding" not in name:
            fan_in = math.prod(shape[1:])
            w = torch.randn(shape) / math.sqrt(fan_in)
        else:
            w = 0.5 * torch.randn(shape)
        weights[name] = w.to(torch.float32)
    return weights


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def image_stem(p, pixels, c):
    x = pixels.permute(0, 3, 1, 2)  # [B, 1, H, W]
    ohwi = lambda t: t.permute(0, 3, 1, 2)  # noqa: E731  [Co, KH, KW, Ci] -> [Co, Ci, KH, KW]
    x = F.silu(F.conv2d(x, ohwi(p["image_stem.conv.weight"]), p["image_stem.conv.bias"], padding=1))
    x = F.conv2d(x, ohwi(p["image_stem.patch.weight"]), p["image_stem.patch.bias"], stride=c["image_patch"])
    B, C, rows, cols = x.shape
    tokens = x.permute(0, 2, 3, 1).reshape(B, rows * cols, C)
    position = (p["image_stem.row_embedding"][:rows, None, :] + p["image_stem.column_embedding"][None, :cols, :])
    return tokens + position.reshape(rows * cols, C) + p["image_stem.modality_embedding"]


def block(p, prefix, x, lengths, c):
    B, T, C = x.shape
    H = c["num_heads"]
    D = C // H
    eps = c["norm_eps"]
    keep = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]  # [B, S]: keys each row sees

    def heads(t):
        return t.reshape(B, T, H, D).transpose(1, 2)

    n = rms_norm(x, p[prefix + "attn_norm.weight"], eps)
    q, k, v = (heads(n @ p[prefix + f"attn.{name}_proj.weight"].T) for name in "qkv")
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    scores = scores.masked_fill(~keep[:, None, None, :], float("-inf"))
    attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    h = x + attended @ p[prefix + "attn.o_proj.weight"].T
    n = rms_norm(h, p[prefix + "mlp_norm.weight"], eps)
    gate = n @ p[prefix + "mlp.gate_proj.weight"].T
    up = n @ p[prefix + "mlp.up_proj.weight"].T
    return h + (F.silu(gate) * up) @ p[prefix + "mlp.down_proj.weight"].T


def main():
    torch.manual_seed(20261206)
    os.makedirs(OUT_DIR, exist_ok=True)
    weights = random_weights(CONFIG)
    pixels = torch.randn(BATCH, HEIGHT, WIDTH, 1).to(torch.float32)
    p = {name: w.double().requires_grad_(name.startswith(("image_stem.", "trunk.layers.0.")))
         for name, w in weights.items()}
    pixels64 = pixels.double().requires_grad_()
    tokens = image_stem(p, pixels64, CONFIG)
    out = block(p, "trunk.layers.0.", tokens, LENGTHS, CONFIG)
    # The gradient of sum(out * grad_output) over the valid tokens (padding's outputs are not
    # part of the block's contract).
    valid = (torch.arange(out.shape[1])[None, :] < torch.tensor(LENGTHS)[:, None]).to(torch.float32)
    grad_output = (torch.randn(out.shape) * valid[:, :, None]).to(torch.float32)
    (out * grad_output.double()).sum().backward()

    f32 = lambda t: t.detach().to(torch.float32)  # noqa: E731
    expected = {"pixels": pixels, "image_tokens": f32(tokens), "lengths": torch.tensor(LENGTHS, dtype=torch.int64),
                "block_out": f32(out), "grad_output": grad_output, "grad.pixels": f32(pixels64.grad)}
    for name, t in p.items():
        if t.grad is not None:
            expected["grad." + name] = f32(t.grad)
    meta = {"generator": "scripts/make_trimodal_fixture.py", "torch": torch.__version__,
            "layout": "pixels [B,H,W,1]; tokens and block_out [B,T,C]; conv weights [Co,KH,KW,Ci]"}
    with open(os.path.join(OUT_DIR, "config.json"), "w") as f:
        f.write(json.dumps(CONFIG, indent=2) + "\n")
    for file, tensors in [("model.safetensors", weights), ("expected.safetensors", expected)]:
        path = os.path.join(OUT_DIR, file)
        write_safetensors(path, tensors, {"format": "pt"} if file == "model.safetensors" else meta)
        check_written(path, tensors)
    print(f"wrote {OUT_DIR}: {len(weights)} parameters, {len(expected)} expected tensors")


if __name__ == "__main__":
    main()
