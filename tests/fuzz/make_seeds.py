#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets that take whole files: tests/fuzz/corpus/
{model_dir,quantized_model_dir,dictd,idx,image,checkpoint_state,adapter,gguf,wav}/. Deterministic: rerunning rewrites the same bytes.

A seed's name says whether the target should accept it (valid_*) or answer with a UserError
(invalid_*); tests/io/test_fuzz_corpus.cpp and its siblings check that on every test run.
Multi-file seeds use the container format of tests/support/fuzz_inputs.h.

    python3 tests/fuzz/make_seeds.py
"""
import gzip
import json
import math
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
MARKER = b"\n#### sieve-fuzz-file ####\n"  # tests/support/fuzz_inputs.h: kFilePartMarker


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# --- safetensors -------------------------------------------------------------------------

def values(count, seed):
    """`count` deterministic small f32 values."""
    state = seed * 2654435761 % 2**32 or 1
    out = []
    for _ in range(count):
        state = (1103515245 * state + 12345) % 2**31
        out.append((state / 2**31 - 0.5) * 0.04)
    return out


def safetensors_raw(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)], the bytes already little-endian."""
    header, data = {}, b""
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors(tensors, metadata=None):
    """tensors: [(name, shape, dtype)]; every tensor F32 (or I64) with generated values."""
    raw = []
    for i, (name, shape, dtype) in enumerate(tensors):
        count = math.prod(shape)
        blob = struct.pack(f"<{count}f", *values(count, i + 1)) if dtype == "F32" else bytes(8 * count)
        raw.append((name, dtype, shape, blob))
    return safetensors_raw(raw, metadata)


# --- model directories -------------------------------------------------------------------

def llama_parameters(c):
    """(name, shape) of every parameter of LlamaForCausalLM(c), as io::llama_parameters."""
    C, I = c["hidden_size"], c["intermediate_size"]
    kv = c.get("num_key_value_heads", c["num_attention_heads"]) * (C // c["num_attention_heads"])
    attention = c.get("attention", {"type": "dense"})
    out = [("model.embed_tokens.weight", (c["vocab_size"], C))]
    for layer in range(c["num_hidden_layers"]):
        kind = attention.get("layers", [attention["type"]] * c["num_hidden_layers"])[layer]
        p = f"model.layers.{layer}."
        out.append((p + "input_layernorm.weight", (C,)))
        if kind == "sparse":
            out.append((p + "self_attn.global_bias_scale", (1,)))
        out += [(p + "self_attn.q_proj.weight", (C, C)), (p + "self_attn.k_proj.weight", (kv, C)),
                (p + "self_attn.v_proj.weight", (kv, C)), (p + "self_attn.o_proj.weight", (C, C))]
        if kind == "sparse":
            S, K = attention.get("scorer_channels", 32), attention.get("scorer_kernel", 5)
            s = p + "self_attn.scorer."
            out += [(s + "conv1.weight", (C, K)), (s + "conv1.bias", (C,)), (s + "conv2.weight", (S, K)),
                    (s + "conv2.bias", (S,)), (s + "proj1.weight", (S, C)), (s + "proj1.bias", (S,)),
                    (s + "out.weight", (1, S)), (s + "out.bias", (1,))]
        out += [(p + "post_attention_layernorm.weight", (C,)), (p + "mlp.gate_proj.weight", (I, C)),
                (p + "mlp.up_proj.weight", (I, C)), (p + "mlp.down_proj.weight", (C, I))]
    out.append(("model.norm.weight", (C,)))
    if not c.get("tie_word_embeddings", False):
        out.append(("lm_head.weight", (c["vocab_size"], C)))
    return out


def varint(n):
    n &= 2**64 - 1
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 5:
        return key + struct.pack("<f", payload)
    return key + varint(len(payload)) + payload  # wire 2


def tokenizer_model(eos="</s>", model_type=2, merges=("\u2581t", "th", "he", "\u2581the", "in", "er", "an")):
    """A SentencePiece ModelProto written by hand (BPE = 2, unigram = 1): <unk> <s> </s>, the
    letters and a few merges, identity normalisation (no precompiled character map, so it stays
    small). `eos` renames the end-of-sequence piece."""
    normal, unknown, control = 1, 2, 3
    pieces = [("<unk>", 0.0, unknown), ("<s>", 0.0, control), (eos, 0.0, control)]
    pieces += [(m, -float(i), normal) for i, m in enumerate(merges)]
    letters = ["\u2581"] + [chr(ord("a") + i) for i in range(26)]
    pieces += [(ch, -10.0 - i, normal) for i, ch in enumerate(letters)]
    proto = b""
    for piece, score, kind in pieces:
        proto += field(1, 2, field(1, 2, piece.encode()) + field(2, 5, score) + field(3, 0, kind))
    trainer = field(3, 0, model_type) + field(4, 0, len(pieces)) + field(40, 0, 0) + field(41, 0, 1) + field(42, 0, 2)
    normalizer = field(1, 2, b"identity") + field(3, 0, 1) + field(4, 0, 0) + field(5, 0, 1)
    return proto + field(2, 2, trainer) + field(3, 2, normalizer), len(pieces)


def model_dir_seeds():
    tokenizer, pieces = tokenizer_model()
    dense = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": pieces, "hidden_size": 8,
             "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
             "max_position_embeddings": 32, "bos_token_id": 1, "eos_token_id": 2}
    sparse = dict(dense, num_hidden_layers=2, tie_word_embeddings=True,
                  attention={"type": "sparse", "layers": ["local", "sparse"], "window": 64, "scorer_channels": 4,
                             "scorer_kernel": 3, "lsh_rounds": 1})

    def directory(config, tensors, with_tokenizer=True):
        parts = [json.dumps(config, indent=1).encode(), safetensors([(n, s, "F32") for n, s in tensors])]
        if with_tokenizer:
            parts.append(tokenizer)
        return MARKER.join(parts)

    write("model_dir", "valid_dense", directory(dense, llama_parameters(dense)))
    write("model_dir", "valid_sparse_tied", directory(sparse, llama_parameters(sparse)))
    write("model_dir", "invalid_missing_tensor", directory(dense, llama_parameters(dense)[:-1]))
    shapes = [(n, (s[0] + 1,) + s[1:] if n == "model.norm.weight" else s) for n, s in llama_parameters(dense)]
    write("model_dir", "invalid_wrong_shape", directory(dense, shapes))
    huge = dict(dense, vocab_size=2**30, hidden_size=2**30)
    write("model_dir", "invalid_huge_config", directory(huge, llama_parameters(dense)))
    write("model_dir", "invalid_no_tokenizer", directory(dense, llama_parameters(dense), with_tokenizer=False))
    weights = safetensors([(n, s, "F32") for n, s in llama_parameters(dense)])
    write("model_dir", "invalid_tokenizer", MARKER.join([json.dumps(dense).encode(), weights, b"\x0a\x03abc not a model"]))
    # Found by fuzz_model_dir: a control piece that is also a normal piece ("\u2581t") loads, then
    # fails to encode; that is the file's fault, a UserError, not an internal error.
    write("model_dir", "invalid_tokenizer_control_piece_twice",
          MARKER.join([json.dumps(dense).encode(), weights, tokenizer_model(eos="\u2581t")[0]]))
    # Found by fuzz_model_dir: a unigram piece that starts with a NUL byte makes SentencePiece
    # throw (its trie sees an empty key).
    write("model_dir", "invalid_tokenizer_unigram_piece_with_nul",
          MARKER.join([json.dumps(dense).encode(), weights, tokenizer_model(model_type=1, merges=("\0he", "th"))[0]]))


# --- quantized model directories ---------------------------------------------------------

def is_linear(name):
    """Whether a parameter of llama_parameters is a Linear's weight (the scorer convs are not)."""
    return name.endswith("_proj.weight") or name in ("lm_head.weight",) or \
        name.endswith("scorer.proj1.weight") or name.endswith("scorer.out.weight")


def quantized_dir(config, precisions, activations="dynamic", group_size=32, scale_dtype="f16", scheme=None,
                  edit=None):
    """A quantized model directory (docs/compression.md) for `config`: `precisions` maps Linear
    paths to f32 / int8 / int4 (unnamed: f32). `edit(tensors)` may damage the tensor list."""
    tensors = []
    for i, (name, shape) in enumerate(llama_parameters(config)):
        path = name[:-len(".weight")]
        precision = precisions.get(path, "f32") if is_linear(name) else "f32"
        M, K = shape if len(shape) == 2 else (0, 0)
        if precision == "int8":
            q = bytes((((i + 7) * 37 + j * 11) % 255) for j in range(M * K))  # bytes 0..254: int8 -127..127
            q = bytes((b - 127) & 0xFF for b in q)
            tensors.append((name, "I8", shape, q))
            tensors.append((path + ".weight_scale", "F32", (M,), struct.pack(f"<{M}f", *[0.001 * (m % 5 + 1) for m in range(M)])))
            if activations == "static":
                tensors.append((path + ".input_scale", "F32", (1,), struct.pack("<f", 0.02)))
        elif precision == "int4":
            packed = bytes(((i * 29 + j * 13) % 256) for j in range(M * ((K + 1) // 2)))
            groups = (K + group_size - 1) // group_size
            scales = [0.002 * ((m + g) % 3 + 1) for m in range(M) for g in range(groups)]
            blob = struct.pack(f"<{len(scales)}{'e' if scale_dtype == 'f16' else 'f'}", *scales)
            tensors.append((path + ".weight_packed", "U8", (M, (K + 1) // 2), packed))
            tensors.append((path + ".weight_scale", scale_dtype.upper(), (M, groups), blob))
        else:
            count = math.prod(shape)
            tensors.append((name, "F32", shape, struct.pack(f"<{count}f", *values(count, i + 1))))
    if edit:
        tensors = edit(tensors)
    used = {p for p in precisions.values() if p != "f32"}
    section = {"scheme": scheme or (used.pop() if len(used) == 1 else "mixed"), "activations": activations,
               "group_size": group_size, "scale_dtype": scale_dtype, "layers": precisions}
    return MARKER.join([json.dumps(dict(config, quantization=section), indent=1).encode(),
                        safetensors_raw(tensors, {"format": "pt", "sieve.quantization": section["scheme"]})])


def replace_tensor(name, dtype=None, shape=None, blob=None):
    def edit(tensors):
        return [(n, dtype or d, shape or s, blob if blob is not None else b) if n == name else (n, d, s, b)
                for n, d, s, b in tensors]
    return edit


def quantized_model_dir_seeds():
    """Seeds for fuzz_quantized_model_dir: config.json MARKER model.safetensors. Sizes that make
    the INT4 cases interesting: K 40 is one full group of 32 and a short one, K 33 (down_proj) is
    odd, so its last byte holds one nibble."""
    dense = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32, "hidden_size": 40,
             "intermediate_size": 33, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
             "max_position_embeddings": 16, "bos_token_id": 1, "eos_token_id": 2}
    sparse = dict(dense, hidden_size=16, intermediate_size=24, num_hidden_layers=2, tie_word_embeddings=True,
                  attention={"type": "sparse", "layers": ["local", "sparse"], "window": 64, "scorer_channels": 4,
                             "scorer_kernel": 3, "lsh_rounds": 1})

    def uniform(config, precision):
        return {n[:-len(".weight")]: precision for n, _ in llama_parameters(config)
                if is_linear(n) and ".scorer." not in n}

    write("quantized_model_dir", "valid_int8", quantized_dir(dense, uniform(dense, "int8")))
    write("quantized_model_dir", "valid_int8_static", quantized_dir(dense, uniform(dense, "int8"), activations="static"))
    write("quantized_model_dir", "valid_int4_g32_f16", quantized_dir(dense, uniform(dense, "int4")))
    write("quantized_model_dir", "valid_int4_g64_f32",
          quantized_dir(dense, uniform(dense, "int4"), group_size=64, scale_dtype="f32"))
    mixed = {"model.layers.0.self_attn.q_proj": "int8", "model.layers.0.mlp.gate_proj": "int4",
             "model.layers.1.self_attn.o_proj": "f32", "model.layers.1.self_attn.scorer.proj1": "int8",
             "model.layers.1.mlp.down_proj": "int4"}
    write("quantized_model_dir", "valid_mixed_sparse", quantized_dir(sparse, mixed, activations="static"))
    write("quantized_model_dir", "valid_mixed_all_f32", quantized_dir(dense, {"lm_head": "f32"}, scheme="mixed"))

    int8, int4 = uniform(dense, "int8"), uniform(dense, "int4")
    # Token 0's embedding row is NaN, so its activations reach the first INT8 product as NaN, and
    # the portable kernels (SIEVE_ISA=scalar) cast NaN to int8, which is undefined: UBSan in
    # fuzz_quantized_model_dir's run of this input. It loads; the run must stay defined.
    embedding = struct.pack("<40f", *[math.nan] * 40) + struct.pack(f"<{31 * 40}f", *values(31 * 40, 1))
    write("quantized_model_dir", "valid_int8_nan_embedding",
          quantized_dir(dense, int8, edit=replace_tensor("model.embed_tokens.weight", blob=embedding)))
    q_scale = "model.layers.0.self_attn.q_proj.weight_scale"
    write("quantized_model_dir", "invalid_nan_scale",
          quantized_dir(dense, int8, edit=replace_tensor(q_scale, blob=struct.pack("<40f", *([0.01] * 39 + [math.nan])))))
    write("quantized_model_dir", "invalid_negative_scale",
          quantized_dir(dense, int4, edit=replace_tensor(q_scale, blob=struct.pack("<80e", *([0.01] * 79 + [-1.0])))))
    write("quantized_model_dir", "invalid_int8_minus_128",
          quantized_dir(dense, int8, edit=replace_tensor("lm_head.weight", blob=b"\x80" * (32 * 40))))
    write("quantized_model_dir", "invalid_group_size_48", quantized_dir(dense, int4, group_size=48))
    write("quantized_model_dir", "invalid_scale_dtype_mismatch",
          quantized_dir(dense, int4, edit=replace_tensor(q_scale, dtype="F32", blob=struct.pack("<80f", *[0.01] * 80))))
    write("quantized_model_dir", "invalid_unknown_layer",
          quantized_dir(dense, dict(int8, **{"model.layers.1.mlp.up_proj": "int8"})))
    write("quantized_model_dir", "invalid_missing_packed",
          quantized_dir(dense, int4, edit=lambda t: [e for e in t if e[0] != "lm_head.weight_packed"]))
    write("quantized_model_dir", "invalid_not_quantized",
          MARKER.join([json.dumps(dense).encode(), quantized_dir(dense, {}).split(MARKER)[1]]))
    huge = dict(dense, vocab_size=2**24, hidden_size=2**12, intermediate_size=2**14)
    section = {"scheme": "int4", "layers": {"lm_head": "int4"}}
    write("quantized_model_dir", "invalid_huge_config",
          MARKER.join([json.dumps(dict(huge, quantization=section)).encode(), safetensors_raw([])]))


# --- dictd -------------------------------------------------------------------------------

def b64(n):
    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    out = ""
    while True:
        out = digits[n % 64] + out
        n //= 64
        if not n:
            return out


def dictd_seeds():
    entries = [("00-database-short", "00-database-short\n   A fuzz seed\n\n"),
               ("Apple", "Apple \\Ap\"ple\\, n.\n   A fruit.    --Shak.\n   [1913 Webster]\n\n"),
               ("Brook", "Brook, n.\n   A small stream.\n   [WordNet 1.5 +PJC]\n\n")]
    text, index = "", ""
    for headword, body in entries:
        index += f"{headword}\t{b64(len(text))}\t{b64(len(body))}\n"
        text += body
    index += f"apples\t{b64(len(entries[0][1]))}\t{b64(len(entries[1][1]))}\n"  # a second headword
    packed = gzip.compress(text.encode(), mtime=0)
    write("dictd", "valid_gzip", packed + MARKER + index.encode())
    write("dictd", "valid_plain", text.encode() + MARKER + index.encode())
    write("dictd", "invalid_out_of_range", packed + MARKER + (index + f"Zed\t{b64(len(text))}\tB\n").encode())
    write("dictd", "invalid_truncated_gzip", packed[:-6] + MARKER + index.encode())
    member = gzip.compress(bytes(1 << 20), mtime=0)  # 1 MiB of zeros in about 1 KiB
    write("dictd", "invalid_gzip_bomb", member * 2 + MARKER + b"zeros\tA\tB\n")  # 2 MiB, over the 1 MiB cap


# --- idx ---------------------------------------------------------------------------------

def idx_file(dims, payload=None):
    count = math.prod(dims)
    data = bytes(i % 256 for i in range(count)) if payload is None else payload
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def idx_seeds():
    write("idx", "valid_labels", idx_file([5]))
    write("idx", "valid_images_gzip", gzip.compress(idx_file([2, 28, 28]), mtime=0))
    write("idx", "invalid_truncated", idx_file([3, 4])[:-1])
    write("idx", "invalid_magic", b"\x01" + idx_file([3])[1:])
    write("idx", "invalid_huge_dims", idx_file([2**32 - 1] * 3, payload=b"\0" * 16))
    write("idx", "invalid_truncated_gzip", gzip.compress(idx_file([4, 28, 28]), mtime=0)[:-8])


# --- image -------------------------------------------------------------------------------

def png_file(width, height, depth, color_type, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\0" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def image_seeds():
    write("image", "valid_p5.pgm", b"P5\n# a comment\n3 2\n255\n" + bytes([0, 50, 100, 150, 200, 250]))
    write("image", "valid_p2.pgm", b"P2 2 2 15\n0 5\n10 15\n")
    write("image", "valid_16bit.pgm", b"P5 2 1 65535\n\xff\xff\x80\x00")
    write("image", "valid_gray.png", png_file(3, 2, 8, 0, [bytes([0, 128, 255]), bytes([1, 2, 3])]))
    write("image", "valid_rgba.png", png_file(2, 1, 8, 6, [bytes([255, 0, 0, 255, 9, 9, 9, 0])]))
    write("image", "valid_gray16.png", png_file(2, 1, 16, 0, [bytes([0xff, 0xff, 0x80, 0x80])]))
    write("image", "invalid_truncated.png", png_file(4, 4, 8, 0, [bytes(4)] * 4)[:40])
    write("image", "invalid_huge.pgm", b"P5 16385 16385 255\n")
    write("image", "invalid_short_raster.pgm", b"P5 4 4 255\n\x01\x02")
    write("image", "invalid_text", b"not an image")


# --- checkpoint state --------------------------------------------------------------------

def checkpoint_state_seeds():
    trainer = {"loader": {"batches": 12, "rng": [1, 2, 3, 4]}, "loss_scaler": {
        "applied_steps": 11, "growth_tracker": 3, "hysteresis_left": 1, "scale": 32768.0, "skipped_steps": 1},
        "optimizer_steps": 11, "step": 12}
    write("checkpoint_state", "valid_trainer.json", json.dumps(trainer, indent=2))
    write("checkpoint_state", "valid_step_only.json", '{"step": 3, "marker": 3}')
    bad = {"negative_step": {"step": -1}, "zero_rng": dict(trainer, loader={"batches": 1, "rng": [0, 0, 0, 0]}),
           "zero_scale": dict(trainer, loss_scaler=dict(trainer["loss_scaler"], scale=1e-60)),
           "hysteresis_overflow": dict(trainer, loss_scaler=dict(trainer["loss_scaler"], hysteresis_left=2**32)),
           "no_step": {"optimizer_steps": 1}}
    for name, state in bad.items():
        write("checkpoint_state", f"invalid_{name}.json", json.dumps(state))
    write("checkpoint_state", "invalid_json.json", '{"step": 3,')


# --- LoRA adapters -----------------------------------------------------------------------

def adapter_seeds():
    """Adapters for fuzz_adapter.cpp's model (adapter_fuzz_model_config in fuzz_inputs.h): hidden
    16, 2 heads sharing 1 kv head (k/v out 8), intermediate 32, two layers."""
    sparse_layer = "model.layers.1.self_attn."
    linears = {  # targets → (path, in features, out features) of the Linears they select
        "q_proj,v_proj": [(f"model.layers.{layer}.self_attn.{proj}", 16, 16 if proj == "q_proj" else 8)
                          for layer in range(2) for proj in ("q_proj", "v_proj")],
        "mlp": [(f"model.layers.{layer}.mlp.{proj}", *shape) for layer in range(2)
                for proj, shape in (("gate_proj", (16, 32)), ("up_proj", (16, 32)), ("down_proj", (32, 16)))],
        "sparse_attention": [(sparse_layer + "q_proj", 16, 16), (sparse_layer + "k_proj", 16, 8),
                             (sparse_layer + "v_proj", 16, 8), (sparse_layer + "o_proj", 16, 16),
                             (sparse_layer + "scorer.proj1", 16, 32)],
    }

    def adapter(targets, rank, metadata=None, drop=0):
        tensors = []
        for path, k, m in linears[targets]:
            tensors += [(path + ".lora_A.weight", (rank, k), "F32"), (path + ".lora_B.weight", (m, rank), "F32")]
        meta = {"format": "pt", "sieve.adapter": "lora", "lora.rank": str(rank), "lora.alpha": "16",
                "lora.dropout": "0", "lora.targets": targets}
        meta.update(metadata or {})
        return safetensors(tensors[:len(tensors) - drop], meta)

    write("adapter", "valid_q_v_rank2", adapter("q_proj,v_proj", 2))
    write("adapter", "valid_mlp_rank1", adapter("mlp", 1, {"lora.alpha": "0.5", "lora.dropout": "0.1"}))
    write("adapter", "valid_sparse_attention_rank4", adapter("sparse_attention", 4))
    write("adapter", "invalid_alpha_nan", adapter("q_proj,v_proj", 2, {"lora.alpha": "nan"}))
    write("adapter", "invalid_missing_tensor", adapter("q_proj,v_proj", 2, drop=1))
    write("adapter", "invalid_rank_mismatch", adapter("q_proj,v_proj", 2, {"lora.rank": "3"}))
    write("adapter", "invalid_not_lora", adapter("q_proj,v_proj", 2, {"sieve.adapter": "prefix"}))


# --- gguf ----------------------------------------------------------------------------------
# A minimal llama-architecture GGUF (hidden 32, one layer, 2 heads sharing 1 KV head, FFN 32,
# 8 tokens) in f32, q8_0 and q4_0, and broken variants.

GGUF_U32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY, GGUF_I32 = 4, 6, 7, 8, 9, 5


def gguf_string(text):
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_value(kind, value):
    if kind == GGUF_U32:
        return struct.pack("<I", GGUF_U32) + struct.pack("<I", value)
    if kind == GGUF_F32:
        return struct.pack("<I", GGUF_F32) + struct.pack("<f", value)
    if kind == GGUF_BOOL:
        return struct.pack("<I", GGUF_BOOL) + struct.pack("<B", value)
    if kind == GGUF_STRING:
        return struct.pack("<I", GGUF_STRING) + gguf_string(value)
    element, items = value
    packed = {GGUF_STRING: gguf_string, GGUF_F32: lambda v: struct.pack("<f", v),
              GGUF_I32: lambda v: struct.pack("<i", v)}[element]
    return struct.pack("<IIQ", GGUF_ARRAY, element, len(items)) + b"".join(packed(v) for v in items)


def q8_0_blocks(values):
    out = b""
    for b in range(0, len(values), 32):
        block = values[b:b + 32]
        d = max(abs(v) for v in block) / 127
        out += struct.pack("<e", d) + bytes((round(v / d) if d else 0) & 0xFF for v in block)
    return out


def q4_0_blocks(values):
    out = b""
    for b in range(0, len(values), 32):
        block = values[b:b + 32]
        top = max(block, key=abs)
        d = top / -8
        q = [min(15, int(v / d + 8.5)) if d else 8 for v in block]
        out += struct.pack("<e", d) + bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    return out


def gguf_file(tensor_type=0, metadata_edit=None, tensor_edit=None, truncate=None):
    C, F, V, kv = 32, 32, 8, 16
    tokens = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab"]
    metadata = {
        "general.architecture": (GGUF_STRING, "llama"),
        "llama.context_length": (GGUF_U32, 64),
        "llama.embedding_length": (GGUF_U32, C),
        "llama.block_count": (GGUF_U32, 1),
        "llama.feed_forward_length": (GGUF_U32, F),
        "llama.attention.head_count": (GGUF_U32, 2),
        "llama.attention.head_count_kv": (GGUF_U32, 1),
        "llama.attention.layer_norm_rms_epsilon": (GGUF_F32, 1e-5),
        "llama.rope.freq_base": (GGUF_F32, 10000.0),
        "llama.rope.dimension_count": (GGUF_U32, 16),
        "tokenizer.ggml.model": (GGUF_STRING, "llama"),
        "tokenizer.ggml.tokens": (GGUF_ARRAY, (GGUF_STRING, tokens)),
        "tokenizer.ggml.scores": (GGUF_ARRAY, (GGUF_F32, [0, 0, 0, -1, -2, -3, -4, -5])),
        "tokenizer.ggml.token_type": (GGUF_ARRAY, (GGUF_I32, [2, 3, 3, 1, 1, 1, 1, 1])),
        "tokenizer.ggml.bos_token_id": (GGUF_U32, 1),
        "tokenizer.ggml.eos_token_id": (GGUF_U32, 2),
        "tokenizer.ggml.add_space_prefix": (GGUF_BOOL, 1),
    }
    if metadata_edit:
        metadata_edit(metadata)
    tensors = [("token_embd.weight", [C, V]), ("blk.0.attn_norm.weight", [C]), ("blk.0.attn_q.weight", [C, C]),
               ("blk.0.attn_k.weight", [C, kv]), ("blk.0.attn_v.weight", [C, kv]),
               ("blk.0.attn_output.weight", [C, C]), ("blk.0.ffn_norm.weight", [C]),
               ("blk.0.ffn_gate.weight", [C, F]), ("blk.0.ffn_up.weight", [C, F]), ("blk.0.ffn_down.weight", [F, C]),
               ("output_norm.weight", [C]), ("output.weight", [C, V])]
    infos, data = [], b""
    for i, (name, dims) in enumerate(tensors):
        count = math.prod(dims)
        vals = [math.sin(0.37 * (k + 11 * i)) * 0.2 + (1.0 if len(dims) == 1 else 0.0) for k in range(count)]
        kind = 0 if len(dims) == 1 else tensor_type
        blob = {0: lambda v: struct.pack(f"<{len(v)}f", *v), 8: q8_0_blocks, 2: q4_0_blocks}[kind](vals)
        info = [name, dims, kind, len(data)]
        if tensor_edit:
            info = tensor_edit(info)
        infos.append(info)
        data += blob + b"\0" * (-len(blob) % 32)
    out = struct.pack("<IIQQ", 0x46554747, 3, len(infos), len(metadata))
    for key, (kind, value) in metadata.items():
        out += gguf_string(key) + gguf_value(kind, value)
    for name, dims, kind, offset in infos:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", kind, offset)
    out += b"\0" * (-len(out) % 32) + data
    return out[:truncate] if truncate else out


def gguf_seeds():
    write("gguf", "valid_f32.gguf", gguf_file(0))
    write("gguf", "valid_q8_0.gguf", gguf_file(8))
    write("gguf", "valid_q4_0.gguf", gguf_file(2))
    write("gguf", "invalid_truncated.gguf", gguf_file(0, truncate=-7))
    write("gguf", "invalid_header_only.gguf", gguf_file(0, truncate=200))

    def set_type(t):
        return lambda info: info[:2] + [t] + info[3:] if info[0] == "blk.0.ffn_up.weight" else info
    write("gguf", "invalid_unknown_type.gguf", gguf_file(0, tensor_edit=set_type(99)))
    write("gguf", "invalid_q4_k_type.gguf", gguf_file(0, tensor_edit=set_type(12)))
    write("gguf", "invalid_overlap.gguf",
          gguf_file(0, tensor_edit=lambda info: info[:3] + [0] if info[0] == "output.weight" else info))
    write("gguf", "invalid_shape.gguf",
          gguf_file(0, tensor_edit=lambda info: [info[0], [16, 32], *info[2:]] if info[0] == "blk.0.attn_q.weight"
                    else info))

    def drop(key):
        return lambda m: m.pop(key)
    write("gguf", "invalid_missing_key.gguf", gguf_file(0, metadata_edit=drop("llama.block_count")))
    write("gguf", "invalid_no_vocabulary.gguf", gguf_file(0, metadata_edit=drop("tokenizer.ggml.tokens")))
    write("gguf", "invalid_heads.gguf",
          gguf_file(0, metadata_edit=lambda m: m.update({"llama.attention.head_count_kv": (GGUF_U32, 3)})))
    write("gguf", "invalid_scores_length.gguf",
          gguf_file(0, metadata_edit=lambda m: m.update({"tokenizer.ggml.scores": (GGUF_ARRAY, (GGUF_F32, [0]))})))


# --- wav -----------------------------------------------------------------------------------

def riff_chunk(cid, body):
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def wav_file(tag, channels, rate, bits, data, extra=b"", fmt_body=None):
    align = channels * bits // 8
    fmt = fmt_body or struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    chunks = riff_chunk(b"fmt ", fmt) + extra + riff_chunk(b"data", data)
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + b"WAVE" + chunks


def wav_seeds():
    """WAV files for fuzz_wav (data::audio::parse_wav): each encoding, and the usual damage."""
    ramp16 = struct.pack("<8h", *[i * 4000 - 16000 for i in range(8)])
    write("wav", "valid_pcm16_mono.wav", wav_file(1, 1, 16000, 16, ramp16))
    write("wav", "valid_pcm8_stereo.wav", wav_file(1, 2, 8000, 8, bytes(range(0, 256, 16)), riff_chunk(b"LIST", b"odd")))
    write("wav", "valid_pcm24.wav", wav_file(1, 1, 48000, 24, bytes([0, 0, 0x80, 0xff, 0xff, 0x7f, 1, 2, 3])))
    write("wav", "valid_pcm32.wav", wav_file(1, 1, 44100, 32, struct.pack("<3i", -2**31, 0, 2**31 - 1)))
    write("wav", "valid_float32.wav", wav_file(3, 2, 22050, 32, struct.pack("<4f", 0.5, -0.5, 2.0, -0.25)))
    guid_tail = bytes([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71])
    extensible = struct.pack("<HHIIHHHHIH", 0xFFFE, 1, 16000, 64000, 4, 32, 22, 24, 4, 1) + guid_tail
    write("wav", "valid_extensible.wav", wav_file(0, 1, 16000, 32, struct.pack("<2i", 1 << 30, -(1 << 30)), fmt_body=extensible))
    write("wav", "invalid_truncated.wav", wav_file(1, 1, 16000, 16, ramp16)[:-3])
    piped = bytearray(wav_file(1, 1, 16000, 16, ramp16))
    piped[4:8] = struct.pack("<I", 0x7ffff024)
    piped[40:44] = struct.pack("<I", 0x7ffff000)
    write("wav", "invalid_streamed_sizes.wav", bytes(piped))
    write("wav", "invalid_mulaw.wav", wav_file(7, 1, 8000, 8, b"abcd"))
    write("wav", "invalid_block_align.wav", wav_file(1, 2, 16000, 16, ramp16, fmt_body=struct.pack("<HHIIHH", 1, 2, 16000, 64000, 2, 16)))
    write("wav", "invalid_float_nan.wav", wav_file(3, 1, 16000, 32, struct.pack("<f", float("nan"))))
    write("wav", "invalid_no_fmt.wav", b"RIFF" + struct.pack("<I", 4 + 8 + 16) + b"WAVE" + riff_chunk(b"data", ramp16))


if __name__ == "__main__":
    model_dir_seeds()
    quantized_model_dir_seeds()
    dictd_seeds()
    idx_seeds()
    image_seeds()
    checkpoint_state_seeds()
    adapter_seeds()
    gguf_seeds()
    wav_seeds()
