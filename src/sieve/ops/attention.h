// Fused causal attention (flash-style: tiled, online softmax, no T×S buffer; backward by
// recomputation). Letters: B batch, T query tokens, S key tokens, H query heads, Hkv key/value
// heads (H % Hkv == 0), D head dim.
#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// q [B, T, H, D], k and v [B, S, Hkv, D] → [B, T, H, D]. Query t sits at position
// query_offset + t and sees keys 0..query_offset + t. k and v may be views whose batch
// stride is larger than contiguous (a preallocated KV cache); each token's [Hkv, D] block
// must be contiguous.
Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                        std::int64_t query_offset = 0);

}  // namespace sieve::ops
