// Dynamic sparse causal attention as a differentiable op: builds the plan (global tokens from
// the scorer's scores, LSH buckets from q and k) and runs the sparse kernel
// (kernels/cpu/sparse_attention.h has the key sets; docs/sparse-attention.md the algorithm).
// Letters: B batch, T tokens, H query heads, Hkv key/value heads, D head dim, R hash rounds,
// NBk buckets per round.
#pragma once

#include <cstdint>

#include "sieve/core/tensor.h"
#include "sieve/kernels/cpu/sparse_attention.h"

namespace sieve::ops {

using core::Tensor;

struct SparseAttentionParams {
  std::int64_t window = 256;      // W: dense causal window (>= 64)
  std::int64_t global_cap = 256;  // G: global keys per query block
  std::int64_t lsh_keys = 64;     // C: same-bucket keys per query and round
  std::int64_t lsh_rounds = 1;    // R (0: no LSH branch)
  std::int64_t lsh_buckets = 0;   // NBk per round; 0: automatic (lsh_bucket_count)
  float threshold = 0.3f;         // τ: a token is global when σ(score) >= τ ...
  float keep_ratio = 0.0f;        // ... or, when ρ > 0, the top ρ of the scores (budget mode)
};

// Hashing a vector costs O(D · NBk), so an automatic bucket count that grew with T would make
// hashing quadratic; it stops at kMaxAutoBuckets (past that, buckets just hold more keys and each
// query still takes only the C most recent).
inline constexpr std::int64_t kMaxAutoBuckets = 128;

// The bucket count `params` gives for T tokens: lsh_buckets if set, else the power of two
// nearest T / C, within [2, kMaxAutoBuckets].
std::int64_t lsh_bucket_count(const SparseAttentionParams& params, std::int64_t tokens);

// The kernel's view of `params` for a [B, T, H | Hkv, D] problem (bucket count resolved).
kernels::cpu::SparseAttentionShape sparse_attention_shape(const SparseAttentionParams& params, std::int64_t batch,
                                                          std::int64_t tokens, std::int64_t heads,
                                                          std::int64_t kv_heads, std::int64_t head_dim, float scale);

// q [B, T, H, D], k and v [B, T, Hkv, D]; scores [B, T]: the scorer's raw outputs, which choose the
// global tokens (selection is not differentiable); key_bias [B, T]: added to the logits of keys
// reached as global tokens — the path by which the loss trains the scorer (differentiable);
// rotations [R, Hkv, D, NBk / 2] (kernels::cpu::make_lsh_rotations). Returns [B, T, H, D].
// f32 tensors; the precision policy applies as in causal_attention (the kernel computes in f32
// on operands rounded to the compute dtype; saved tensors use the storage dtype).
Tensor sparse_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& scores,
                        const Tensor& key_bias, const Tensor& rotations, const SparseAttentionParams& params,
                        float scale);

}  // namespace sieve::ops
