// Fused attention (flash-style: tiled, online softmax, no T×S buffer; backward by
// recomputation), causal for decoders and bidirectional for encoders. Letters: B batch,
// T query tokens, S key tokens, H query heads, Hkv key/value heads (H % Hkv == 0), D head dim.
#pragma once

#include <cstdint>
#include <span>

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// q [B, T, H, D], k and v [B, S, Hkv, D] → [B, T, H, D]. Query t sits at position
// query_offset + t and sees keys 0..query_offset + t. k and v may be views whose batch
// stride is larger than contiguous (a preallocated KV cache); each token's [Hkv, D] block
// must be contiguous.
Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                        std::int64_t query_offset = 0);

// Bidirectional attention with key padding (encoders; also cross-attention, T != S):
// q [B, T, H, D], k and v [B, S, Hkv, D] → [B, T, H, D]. Every query of batch b sees keys
// 0..key_lengths[b]-1; key_lengths holds B values in [1, S], or is empty for all S. Padded
// query rows (t >= key_lengths[b] when q and k are the same sequence) are computed like the
// others, from the valid keys; the caller ignores them (ops::masked_mean does), and then they
// pass no gradient on. Differentiable in q, k and v.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                 std::span<const std::int64_t> key_lengths = {});
// The same with key_lengths an int64 tensor [B], or undefined for all S.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Tensor& key_lengths);

}  // namespace sieve::ops
