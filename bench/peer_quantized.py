#!/usr/bin/python3
"""PyTorch peer for `sieve bench prefill|decode --scheme int8`: the same LLaMA with its Linears as
torch.nn.Linear modules, fp32 or dynamically quantized to int8 by
torch.quantization.quantize_dynamic (int8 weights, activations quantized at run time) on the
quantized engine the build has: Debian's PyTorch 1.13 has no FBGEMM, so oneDNN's (else
QNNPACK). The embedding stays fp32, as in Sieve.

  prefill: batch 1, --context prompt tokens, best of --repeats timed runs -> tokens_per_s
  decode:  --context tokens prefilled into a KV cache, then --new-tokens greedy steps -> ms_per_token

Prints ONE JSON line: {"impl": "pytorch", "bench": ..., "precision": "fp32"|"int8", ...}
"""

import os

import blas_env

blas_env.apply(os.environ)
os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_model as pm  # noqa: E402

PROJECTIONS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
               "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


class ModuleLlama(torch.nn.Module):
    """pm.LlamaLM's forward with nn.Linear modules, so quantize_dynamic can replace them."""

    def __init__(self, config, params):
        super().__init__()
        self.config = config
        self.params = {n: t for n, t in params.items() if not n.endswith("proj.weight") and n != "lm_head.weight"}
        self.linears = torch.nn.ModuleDict()
        for name, tensor in params.items():
            if name.endswith("proj.weight") or name == "lm_head.weight":
                linear = torch.nn.Linear(tensor.shape[1], tensor.shape[0], bias=False)
                linear.weight.data.copy_(tensor)
                self.linears[name[:-len(".weight")].replace(".", "_")] = linear

    def linear(self, name, x):
        return self.linears[name.replace(".", "_")](x)

    def forward(self, ids, cache):
        cfg = self.config
        eps, H, Hkv, D = cfg["rms_norm_eps"], cfg["num_attention_heads"], cfg["num_key_value_heads"], pm.head_dim(cfg)
        B, T = ids.shape
        start = cache.length
        h = F.embedding(ids, self.params["model.embed_tokens.weight"])                     # [B, T, C]
        cos, sin = pm.rope_cos_sin(torch.arange(start, start + T), D, cfg["rope_theta"], h.dtype)
        for i in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{i}."
            x = pm.rms_norm(h, self.params[pre + "input_layernorm.weight"], eps)
            q = self.linear(pre + "self_attn.q_proj", x).view(B, T, H, D).transpose(1, 2)
            k = self.linear(pre + "self_attn.k_proj", x).view(B, T, Hkv, D).transpose(1, 2)
            v = self.linear(pre + "self_attn.v_proj", x).view(B, T, Hkv, D).transpose(1, 2)
            q, k = pm.apply_rope(q, cos, sin), pm.apply_rope(k, cos, sin)
            cache.k[i][:, :, start:start + T] = k
            cache.v[i][:, :, start:start + T] = v
            out = pm.causal_attention(q, cache.k[i][:, :, :start + T], cache.v[i][:, :, :start + T], q_offset=start)
            h = h + self.linear(pre + "self_attn.o_proj", out.transpose(1, 2).reshape(B, T, H * D))
            x = pm.rms_norm(h, self.params[pre + "post_attention_layernorm.weight"], eps)
            gate, up = self.linear(pre + "mlp.gate_proj", x), self.linear(pre + "mlp.up_proj", x)
            h = h + self.linear(pre + "mlp.down_proj", F.silu(gate) * up)
        cache.length += T
        x = pm.rms_norm(h[:, -1:], self.params["model.norm.weight"], eps)                  # last position only
        return self.linear("lm_head", x)                                                   # [B, 1, V]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", choices=["prefill", "decode"])
    ap.add_argument("--preset", default="lm-17m", choices=sorted(pm.PRESETS))
    ap.add_argument("--precision", default="fp32", choices=["fp32", "int8"])
    ap.add_argument("--context", type=int, default=256, help="prompt tokens (default 256)")
    ap.add_argument("--new-tokens", type=int, default=32, help="decode: tokens generated and timed")
    ap.add_argument("--repeats", type=int, default=3, help="prefill: timed runs, best reported")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if min(args.context, args.new_tokens, args.repeats, args.threads) < 1:
        ap.error("--context, --new-tokens, --repeats and --threads must be >= 1")
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = pm.make_config(**pm.PRESETS[args.preset]["config"])
    model = ModuleLlama(config, pm.init_parameters(config)).eval()
    if args.precision == "int8":
        engines = torch.backends.quantized.supported_engines
        torch.backends.quantized.engine = next(e for e in ("fbgemm", "x86", "onednn", "qnnpack") if e in engines)
        result_engine = torch.backends.quantized.engine
        model = torch.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    prompt = torch.randint(0, config["vocab_size"], (1, args.context), dtype=torch.int64)
    new_cache = lambda extra: pm.KVCache(config, batch=1, max_tokens=args.context + extra, dtype=torch.float32)  # noqa: E731
    result = {"impl": "pytorch", "bench": args.bench, "preset": args.preset, "precision": args.precision,
              "threads": torch.get_num_threads(), "torch": torch.__version__}
    if args.precision == "int8":
        result["engine"] = result_engine
    with torch.inference_mode():
        if args.bench == "prefill":
            best = float("inf")
            for run in range(args.repeats + 1):                     # the first run warms up
                cache = new_cache(0)
                start = time.perf_counter()
                model(prompt, cache)
                if run > 0:
                    best = min(best, time.perf_counter() - start)
            result.update({"prompt": args.context, "batch": 1, "prefill_ms": round(1000 * best, 2),
                           "tokens_per_s": round(args.context / best, 1)})
        else:
            for run in range(2):                                    # the first run warms up
                cache = new_cache(args.new_tokens)
                logits = model(prompt, cache)
                start = time.perf_counter()
                for _ in range(args.new_tokens):
                    logits = model(logits[:, -1:].argmax(dim=-1), cache)
                elapsed = time.perf_counter() - start
            result.update({"context": args.context, "tokens": args.new_tokens,
                           "ms_per_token": round(1000 * elapsed / args.new_tokens, 3)})
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
