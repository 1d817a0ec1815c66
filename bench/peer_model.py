"""Reference LLaMA-style decoder LM in plain PyTorch (no `transformers`).

This is the model Sieve's C++ decoder LM must match, written once and used by
both the golden-test fixture generator (scripts/make_golden_fixture.py, in
float64) and the benchmark peers (bench/peer_*.py, in float32 / bf16 autocast).

Semantics and parameter names follow HF `LlamaForCausalLM`:

  h = embed_tokens(ids)
  for each layer:
      h = h + o_proj(attention(rope(q_proj(x)), rope(k_proj(x)), v_proj(x)))   x = input_layernorm(h)
      h = h + down_proj(silu(gate_proj(x)) * up_proj(x))                        x = post_attention_layernorm(h)
  logits = lm_head(norm(h))            (lm_head is embed_tokens when tie_word_embeddings)

Shape letters: B batch, T tokens, C hidden channels, H query heads, Hkv key/value
heads, D head dim (= C / H), I MLP intermediate channels, V vocab.
"""

import math

import torch
import torch.nn.functional as F


# The HF config keys this model reads; everything else in a config.json is ignored.
CONFIG_KEYS = (
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
    "rms_norm_eps", "rope_theta", "tie_word_embeddings", "bos_token_id", "eos_token_id",
)

# Benchmark presets shared with `sieve bench ... --preset NAME`.
PRESETS = {
    # ~17M parameters: the standard training-throughput preset.
    "lm-17m": {
        "config": dict(
            vocab_size=8192, hidden_size=384, intermediate_size=1024,
            num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=6,
            max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0,
            tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
        ),
        "batch": 8,
        "context": 256,
        "lr": 3e-4,
        "weight_decay": 0.1,
    },
    # ~100M parameters: the inference-only preset (random weights) for quantized speed.
    "lm-100m": {
        "config": dict(
            vocab_size=8192, hidden_size=768, intermediate_size=2048,
            num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=12,
            max_position_embeddings=1024, rms_norm_eps=1e-5, rope_theta=10000.0,
            tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
        ),
        "batch": 1,
        "context": 256,
        "lr": 3e-4,
        "weight_decay": 0.1,
    },
}


def make_config(**overrides):
    """Returns a full HF-style config dict (the shape of config.json)."""
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    config.update(overrides)
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise ValueError(f"config is missing keys: {missing}")
    return config


def head_dim(config):
    c, h = config["hidden_size"], config["num_attention_heads"]
    if c % h != 0:
        raise ValueError(f"hidden_size {c} is not divisible by num_attention_heads {h}")
    return c // h


def parameter_shapes(config):
    """Maps every parameter name to its shape, in HF naming. No biases anywhere."""
    V, C, I = config["vocab_size"], config["hidden_size"], config["intermediate_size"]
    H, Hkv = config["num_attention_heads"], config["num_key_value_heads"]
    D = head_dim(config)
    shapes = {"model.embed_tokens.weight": (V, C)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (C,)
        shapes[p + "self_attn.q_proj.weight"] = (H * D, C)
        shapes[p + "self_attn.k_proj.weight"] = (Hkv * D, C)
        shapes[p + "self_attn.v_proj.weight"] = (Hkv * D, C)
        shapes[p + "self_attn.o_proj.weight"] = (C, H * D)
        shapes[p + "post_attention_layernorm.weight"] = (C,)
        shapes[p + "mlp.gate_proj.weight"] = (I, C)
        shapes[p + "mlp.up_proj.weight"] = (I, C)
        shapes[p + "mlp.down_proj.weight"] = (C, I)
    shapes["model.norm.weight"] = (C,)
    if not config["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (V, C)
    return shapes


def init_parameters(config, norm_noise=0.0, std=0.02, dtype=torch.float32):
    """Fresh parameters drawn from the global torch RNG in sorted-name order.

    Matrices ~ N(0, std^2). Norm weights are 1, plus norm_noise * N(0, 1) when
    norm_noise > 0 (the golden fixture uses noise so that a wrong norm-weight
    gradient cannot hide behind weights that are all one).
    """
    params = {}
    for name, shape in sorted(parameter_shapes(config).items()):
        if len(shape) == 1:
            w = torch.ones(shape, dtype=dtype)
            if norm_noise > 0:
                w = w + norm_noise * torch.randn(shape, dtype=dtype)
        else:
            w = torch.randn(shape, dtype=dtype) * std
        params[name] = w
    return params


def rms_norm(x, weight, eps):
    """x * rsqrt(mean(x^2) + eps) * weight, computed in at least float32."""
    compute = torch.promote_types(x.dtype, torch.float32)
    xf = x.to(compute)
    y = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps)
    return (y * weight.to(compute)).to(x.dtype)


def rope_cos_sin(positions, dim, theta, dtype):
    """cos, sin [T, D] for the HF convention: emb = cat(freqs, freqs)."""
    compute = torch.promote_types(dtype, torch.float32)
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=compute) / dim))   # [D/2]
    freqs = positions.to(compute)[:, None] * inv_freq[None, :]                     # [T, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)                                       # [T, D]
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):
    # x [B, heads, T, D]; cos, sin [T, D] broadcast over B and heads.
    return x * cos + rotate_half(x) * sin


def causal_attention(q, k, v, q_offset=0):
    """softmax(q k^T / sqrt(D)) v with a causal mask.

    q [B, H, Tq, D]; k, v [B, H, Tk, D] (kv heads already repeated). Query i sits
    at absolute position q_offset + i and sees keys 0 .. q_offset + i.
    """
    Tq, Tk, D = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(D)                             # [B, H, Tq, Tk]
    if Tq > 1 or q_offset + Tq < Tk:
        rows = torch.arange(Tq, device=q.device)[:, None] + q_offset
        cols = torch.arange(Tk, device=q.device)[None, :]
        scores = scores.masked_fill(cols > rows, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return probs @ v                                                               # [B, H, Tq, D]


class KVCache:
    """Preallocated per-layer key/value buffers for incremental decoding."""

    def __init__(self, config, batch, max_tokens, dtype):
        Hkv, D = config["num_key_value_heads"], head_dim(config)
        n = config["num_hidden_layers"]
        self.k = [torch.zeros(batch, Hkv, max_tokens, D, dtype=dtype) for _ in range(n)]
        self.v = [torch.zeros(batch, Hkv, max_tokens, D, dtype=dtype) for _ in range(n)]
        self.length = 0   # tokens already stored


class LlamaLM(torch.nn.Module):
    """Decoder LM over a flat {HF name: tensor} parameter dict."""

    def __init__(self, config, params):
        super().__init__()
        self.config = config
        expected = parameter_shapes(config)
        if set(params) != set(expected):
            raise ValueError(f"parameter names differ: missing {sorted(set(expected) - set(params))}, "
                             f"unexpected {sorted(set(params) - set(expected))}")
        # nn.ParameterDict keys may not contain '.', so keep the HF names in a side list.
        self.names = sorted(params)
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(params[n].clone()) for n in self.names])
        self._index = {n: i for i, n in enumerate(self.names)}

    def p(self, name):
        return self.weights[self._index[name]]

    def named_weights(self):
        return [(n, self.p(n)) for n in self.names]

    def _attention(self, i, x, cos, sin, cache):
        cfg = self.config
        B, T, _ = x.shape
        H, Hkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
        pre = f"model.layers.{i}.self_attn."
        q = F.linear(x, self.p(pre + "q_proj.weight")).view(B, T, H, D).transpose(1, 2)     # [B, H, T, D]
        k = F.linear(x, self.p(pre + "k_proj.weight")).view(B, T, Hkv, D).transpose(1, 2)   # [B, Hkv, T, D]
        v = F.linear(x, self.p(pre + "v_proj.weight")).view(B, T, Hkv, D).transpose(1, 2)   # [B, Hkv, T, D]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        offset = 0
        if cache is not None:
            offset = cache.length
            cache.k[i][:, :, offset:offset + T] = k
            cache.v[i][:, :, offset:offset + T] = v
            k = cache.k[i][:, :, :offset + T]
            v = cache.v[i][:, :, :offset + T]
        # GQA: query head h reads kv head h // (H / Hkv).
        if Hkv != H:
            k = k.repeat_interleave(H // Hkv, dim=1)                                       # [B, H, Tk, D]
            v = v.repeat_interleave(H // Hkv, dim=1)
        out = causal_attention(q, k, v, q_offset=offset)                                   # [B, H, T, D]
        out = out.transpose(1, 2).reshape(B, T, H * D)                                     # [B, T, H*D]
        return F.linear(out, self.p(pre + "o_proj.weight"))                                # [B, T, C]

    def _mlp(self, i, x):
        pre = f"model.layers.{i}.mlp."
        gate = F.linear(x, self.p(pre + "gate_proj.weight"))                               # [B, T, I]
        up = F.linear(x, self.p(pre + "up_proj.weight"))                                   # [B, T, I]
        return F.linear(F.silu(gate) * up, self.p(pre + "down_proj.weight"))              # [B, T, C]

    def forward(self, ids, cache=None):
        """ids [B, T] int64 -> logits [B, T, V]. With a cache, ids continue it."""
        cfg = self.config
        eps = cfg["rms_norm_eps"]
        T = ids.shape[1]
        start = cache.length if cache is not None else 0
        h = F.embedding(ids, self.p("model.embed_tokens.weight"))                          # [B, T, C]
        positions = torch.arange(start, start + T)
        cos, sin = rope_cos_sin(positions, head_dim(cfg), cfg["rope_theta"], h.dtype)      # [T, D]
        if torch.is_autocast_cpu_enabled():
            cos, sin = cos.to(torch.get_autocast_cpu_dtype()), sin.to(torch.get_autocast_cpu_dtype())
        for i in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{i}."
            x = rms_norm(h, self.p(pre + "input_layernorm.weight"), eps)
            h = h + self._attention(i, x, cos, sin, cache)
            x = rms_norm(h, self.p(pre + "post_attention_layernorm.weight"), eps)
            h = h + self._mlp(i, x)
        if cache is not None:
            cache.length += T
        x = rms_norm(h, self.p("model.norm.weight"), eps)
        head = "model.embed_tokens.weight" if cfg["tie_word_embeddings"] else "lm_head.weight"
        return F.linear(x, self.p(head))                                                   # [B, T, V]


def lm_loss(logits, targets):
    """Mean cross-entropy over all B*T positions (computed in at least float32)."""
    V = logits.shape[-1]
    compute = torch.promote_types(logits.dtype, torch.float32)
    return F.cross_entropy(logits.reshape(-1, V).to(compute), targets.reshape(-1))


def make_adamw(model, lr, weight_decay, betas=(0.9, 0.95), eps=1e-8):
    """AdamW with decoupled weight decay on ALL parameters, the recipe Sieve matches."""
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, eps=eps,
                             weight_decay=weight_decay)


def loaded_blas():
    """Basename of the BLAS library mapped into this process ('' if none yet).

    Debian's python3-torch calls whatever libblas.so.3 the alternatives system
    points at; the netlib reference one is ~50x slower than OpenBLAS, which
    makes a peer number meaningless, so the peers report it.
    """
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                base = path.rsplit("/", 1)[-1]
                if "blas" in base and ".so" in base:
                    return path
    except OSError:
        pass
    return ""


def blas_kind(path):
    if "openblas" in path:
        return "openblas"
    if "/blas/libblas" in path:
        return "reference"
    return path.rsplit("/", 1)[-1] or "unknown"
