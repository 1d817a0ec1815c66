// One decoding step of sparse attention: the query at one position of one batch row against
// exactly the key set the full kernel (sparse_attention.h) gives that position, read straight
// from the KV cache with the incremental index (sparse_decode_index.h) — O(W + G + R·C) keys,
// independent of how long the sequence already is. Letters as in sparse_attention.h; S the
// cache's rows for this batch row.
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/sparse_attention.h"
#include "sieve/kernels/cpu/sparse_decode_index.h"

namespace sieve::kernels::cpu {

// q [H, D] (after RoPE) of position `position`; keys and values: the batch row's cache rows
// [S, Hkv, D] with S > position, row stride Hkv·D; key_bias [S]; rotations [R, Hkv, D, NBk/2]
// (null when R == 0); `index` fed with at least the tokens up to position − W. out [H, D].
// Uses shape.heads, kv_heads, head_dim, window, lsh_keys, rounds, buckets and scale.
// The CPU's best instruction set (as attention_causal_default_isa()).
void sparse_attention_decode(const SparseAttentionShape& shape, std::int64_t position, const float* q,
                             const float* keys, const float* values, const float* key_bias, SparseDecodeIndex& index,
                             const float* rotations, float* out);

// The same with its vector loops built for `isa`, which the CPU must have (tests compare them).
void sparse_attention_decode_isa(AttentionIsa isa, const SparseAttentionShape& shape, std::int64_t position,
                                 const float* q, const float* keys, const float* values, const float* key_bias,
                                 SparseDecodeIndex& index, const float* rotations, float* out);

}  // namespace sieve::kernels::cpu
