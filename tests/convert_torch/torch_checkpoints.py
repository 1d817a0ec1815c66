#!/usr/bin/python3
"""PyTorch's side of the PyTorch conversion tests (tests/convert_torch/, tests/cli/).

Run with Debian's torch (/usr/bin/python3). Several commands may be given at once, separated by
"+" (importing torch takes seconds; one process does them all). Commands:

  state-dict CONFIG OUT EXPECTED [--dtype D] [--seed S] [--noncontiguous] [--inv-freq]
      Draws weights for the model CONFIG (an HF LLaMA config.json) and torch.save()s the
      state_dict() of an nn.Module tree with Hugging Face's LlamaForCausalLM names, in dtype D
      (float32, float16, bfloat16) — tied embeddings save lm_head.weight too, as HF does. With
      --noncontiguous the q_proj weights are saved as transposed views; with --inv-freq each
      layer carries the rotary_emb.inv_freq buffer older transformers saved. EXPECTED
      (safetensors) gets input_ids [2, 9] and the reference model's logits on the saved weights.

  logits CHECKPOINT CONFIG OUT [--seed S]
      torch.load(CHECKPOINT, weights_only=True) into the reference model (bench/peer_model.py)
      and writes input_ids and logits to OUT (safetensors).

  malicious KIND OUT MARKER
      A checkpoint whose pickle would run code that creates the file MARKER if Python loaded it
      without weights_only: KIND is os-system, builtins-eval, subprocess-popen,
      os-system-protocol4 (STACK_GLOBAL) or forbidden-in-state-dict (a valid state dict with one
      entry that calls os.system).

The reference model computes in float64 from the stored weights (as the golden fixtures do).
"""

import argparse
import builtins
import collections
import json
import os
import subprocess
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import peer_model as pm  # noqa: E402
from make_golden_fixture import write_safetensors  # noqa: E402

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
BATCH, TOKENS = 2, 9


class Norm(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(c))


class Attention(torch.nn.Module):
    def __init__(self, cfg, inv_freq):
        super().__init__()
        c, d = cfg["hidden_size"], pm.head_dim(cfg)
        kv = cfg["num_key_value_heads"] * d
        self.q_proj = torch.nn.Linear(c, cfg["num_attention_heads"] * d, bias=False)
        self.k_proj = torch.nn.Linear(c, kv, bias=False)
        self.v_proj = torch.nn.Linear(c, kv, bias=False)
        self.o_proj = torch.nn.Linear(cfg["num_attention_heads"] * d, c, bias=False)
        if inv_freq:
            self.rotary_emb = torch.nn.Module()
            freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2).float() / d))
            self.rotary_emb.register_buffer("inv_freq", freq)


class Mlp(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, i = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = torch.nn.Linear(c, i, bias=False)
        self.up_proj = torch.nn.Linear(c, i, bias=False)
        self.down_proj = torch.nn.Linear(i, c, bias=False)


class Layer(torch.nn.Module):
    def __init__(self, cfg, inv_freq):
        super().__init__()
        self.self_attn = Attention(cfg, inv_freq)
        self.mlp = Mlp(cfg)
        self.input_layernorm = Norm(cfg["hidden_size"])
        self.post_attention_layernorm = Norm(cfg["hidden_size"])


class Body(torch.nn.Module):
    def __init__(self, cfg, inv_freq):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = torch.nn.ModuleList([Layer(cfg, inv_freq) for _ in range(cfg["num_hidden_layers"])])
        self.norm = Norm(cfg["hidden_size"])


class HfNamedLlama(torch.nn.Module):
    """Only the module tree (and so the state_dict names) of HF's LlamaForCausalLM."""

    def __init__(self, cfg, inv_freq=False):
        super().__init__()
        self.model = Body(cfg, inv_freq)
        self.lm_head = torch.nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        if cfg["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight


def load_config(path):
    with open(path) as f:
        cfg = json.load(f)
    cfg.setdefault("num_key_value_heads", cfg["num_attention_heads"])
    cfg.setdefault("tie_word_embeddings", False)
    cfg.setdefault("rope_theta", 10000.0)
    cfg.setdefault("rms_norm_eps", 1e-6)
    return cfg


def input_ids(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, cfg["vocab_size"], (BATCH, TOKENS), generator=g, dtype=torch.int64)


def reference_logits(cfg, weights, seed):
    """input_ids and the reference model's float64 logits as f32."""
    ids = input_ids(cfg, seed)
    model = pm.LlamaLM(cfg, {n: w.detach().double() for n, w in weights.items()})
    with torch.no_grad():
        return ids, model(ids).float()


def state_dict(args):
    cfg = load_config(args.config)
    torch.manual_seed(args.seed)
    params = pm.init_parameters(cfg, norm_noise=0.1)
    dtype = DTYPES[args.dtype]
    module = HfNamedLlama(cfg, inv_freq=args.inv_freq)
    missing, unexpected = module.load_state_dict(params, strict=False)
    assert not unexpected and all(k.endswith("inv_freq") or k == "lm_head.weight" for k in missing), (missing, unexpected)
    module.to(dtype)
    if args.noncontiguous:
        for layer in module.model.layers:
            w = layer.self_attn.q_proj.weight.data
            layer.self_attn.q_proj.weight.data = w.t().contiguous().t()  # same values, column-major
            assert not layer.self_attn.q_proj.weight.is_contiguous()
    saved = module.state_dict()
    torch.save(saved, args.out)
    # The reference runs on exactly the stored (rounded) values.
    weights = {n: saved[n] for n in pm.parameter_shapes(cfg)}
    ids, logits = reference_logits(cfg, weights, args.seed)
    write_safetensors(args.expected, {"input_ids": ids, "logits": logits}, {"generator": __file__})


def check_storage_alignment(path, alignment=64):
    """Each storage record's data starts on a multiple of `alignment` bytes (as torch.save writes)."""
    import struct
    import zipfile
    with zipfile.ZipFile(path) as archive, open(path, "rb") as f:
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED, (info.filename, info.compress_type)
            f.seek(info.header_offset)
            header = f.read(30)
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            data_at = info.header_offset + 30 + name_length + extra_length
            if "/data/" in info.filename:
                assert data_at % alignment == 0, (info.filename, data_at)


def logits(args):
    cfg = load_config(args.config)
    check_storage_alignment(args.checkpoint)
    loaded = torch.load(args.checkpoint, weights_only=True)
    assert isinstance(loaded, collections.OrderedDict), type(loaded)
    for name, tensor in loaded.items():
        assert tensor.dtype == torch.float32 and tensor.is_contiguous(), (name, tensor.dtype)
    ids, out = reference_logits(cfg, loaded, args.seed)
    write_safetensors(args.out, {"input_ids": ids, "logits": out}, {"generator": __file__})


class Call:
    """Pickles as a call of `function(*arguments)`: what a hostile checkpoint does."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


def malicious(args):
    touch = f"touch {args.marker}"
    payloads = {
        "os-system": (Call(os.system, touch), 2),
        "os-system-protocol4": (Call(os.system, touch), 4),
        "builtins-eval": (Call(builtins.eval, f"__import__('os').system({touch!r})"), 2),
        "subprocess-popen": (Call(subprocess.Popen, ["touch", args.marker]), 2),
    }
    if args.kind == "forbidden-in-state-dict":
        obj = collections.OrderedDict([("model.embed_tokens.weight", torch.zeros(4, 2)),
                                       ("model.norm.weight", Call(os.system, touch))])
        protocol = 2
    else:
        obj, protocol = payloads[args.kind]
    torch.save(obj, args.out, pickle_protocol=protocol)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("state-dict")
    p.add_argument("config")
    p.add_argument("out")
    p.add_argument("expected")
    p.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noncontiguous", action="store_true")
    p.add_argument("--inv-freq", action="store_true")
    p = sub.add_parser("logits")
    p.add_argument("checkpoint")
    p.add_argument("config")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("malicious")
    p.add_argument("kind")
    p.add_argument("out")
    p.add_argument("marker")
    torch.set_num_threads(1)
    commands, current = [], []
    for word in sys.argv[1:] + ["+"]:
        if word == "+":
            commands.append(current)
            current = []
        else:
            current.append(word)
    for words in commands:
        args = parser.parse_args(words)
        {"state-dict": state_dict, "logits": logits, "malicious": malicious}[args.command](args)


if __name__ == "__main__":
    main()
