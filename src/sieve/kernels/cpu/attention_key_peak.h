// The peak attention each key receives under causal dense attention — the largest probability
// any (far enough) query gives it: what the sparse-attention scorer is distilled toward during
// its warm-up (NOTE [Scorer distillation] in nn/attention/sparse.cpp).
//
// Letters: B batch, T tokens, H query heads, Hkv key heads (H % Hkv == 0: grouped-query
// attention, query head h reads key head h / (H/Hkv)), D head dim.
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/attention_causal.h"

namespace sieve::kernels::cpu {

struct KeyPeakShape {
  std::int64_t batch, tokens, heads, kv_heads, head_dim;
  float scale;  // the attention's score scale, usually 1/sqrt(D)
  // Only queries at least this far after a key count towards its peak: i >= j + min_distance.
  // 0 counts every query that sees the key; a sparse layer passes its window W to measure what
  // only the global branch can deliver (the window covers nearer queries anyway).
  std::int64_t min_distance = 0;
};

// peak[b, j] = max_{h, i >= j + min_distance} exp(scale · q[b, i, h] · k[b, j, h/(H/Hkv)] − lse[b, h, i])
// (0 when no query counts): the largest share of its attention that any one query, in any head,
// gives key j. A key that one query retrieves has a peak near 1 even when its total attention
// mass is small.
//
// q [B, T, H, D] and k [B, T, Hkv, D] f32, contiguous; lse [B, H, T] the natural log-sum-exp of
// each query's causal scaled scores, as attention_causal_forward writes it (same q, k, scale);
// peak [B, T] f32, overwritten. Tiled over key blocks × query blocks with no T × T buffer:
// O(B · H · T² · D / 2) work, threads over (batch, key block), so no two threads write one output.
void attention_key_peak(const KeyPeakShape& shape, const float* q, const float* k, const float* lse, float* peak);

// The same on a chosen instruction set, so tests can run every path in one process; asking for
// one the CPU lacks throws core::Error.
void attention_key_peak_isa(AttentionIsa isa, const KeyPeakShape& shape, const float* q, const float* k,
                            const float* lse, float* peak);

}  // namespace sieve::kernels::cpu
