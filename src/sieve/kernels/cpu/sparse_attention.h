// Dynamic sparse causal attention on the CPU, forward and backward: each query attends to the
// union of three disjoint key sets, with one softmax over all of them (docs/sparse-attention.md):
//
//   local   L(i) = { j : i - W < j <= i }                       dense, causal
//   global  G(i) = { j in global list of i's query block : j <= i - W }, logit + key_bias[j]
//   LSH     H(i) = for each hash round r, the last C keys j <= i - W with key bucket_r(j) ==
//                  query bucket_r(i), minus keys already in G(i) or in an earlier round's H
//
// NOTE [Sparse plan]: the key sets are not computed here. A plan (sparse_attention_plan.h builds
// one from the scorer's scores and the LSH buckets) lists, per query block of kSparseQueryBlock
// queries, its global keys, and per hash round the bucket of every query and key plus the keys
// sorted by (bucket, position). The kernel only reads it. Global lists hold positions
// <= block_start + kSparseQueryBlock - 1 - W, sorted ascending, so with W >= kSparseQueryBlock
// every global key is strictly in the past of every query of the block (causality), and the
// per-query test j <= i - W keeps G(i) disjoint from L(i).
//
// Cost: each query scores at most W + G + R·C keys, so the forward is O(T·(W + G + R·C)·D)
// and no buffer is larger than O(T·(W + G + R·C)) — there is no T×T anything.
//
// Letters: B batch, T tokens (self-attention: queries and keys are the same T positions),
// H query heads, Hkv key/value heads (H % Hkv == 0; head h reads kv head h / (H/Hkv)), D head
// dim, W window, G global cap, C LSH keys per query and round, R hash rounds, NB = ceil(T / Q)
// query blocks with Q = kSparseQueryBlock, NBk buckets per round.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"
#include "sieve/kernels/cpu/attention_causal.h"  // AttentionIsa

namespace sieve::kernels::cpu {

inline constexpr std::int64_t kSparseQueryBlock = 64;

struct SparseAttentionShape {
  std::int64_t batch, tokens, heads, kv_heads, head_dim;
  std::int64_t window;      // W >= kSparseQueryBlock
  std::int64_t lsh_keys;    // C >= 1 (ignored when rounds == 0)
  std::int64_t rounds;      // R >= 0 (0: no LSH branch)
  std::int64_t buckets;     // NBk >= 2 when rounds > 0
  std::int64_t global_cap;  // G >= 0: capacity of each block's global list
  float scale;              // usually 1/sqrt(D)
};

// Non-owning view of a plan; all arrays contiguous, row-major in the order of their shapes.
struct SparseAttentionPlan {
  // Global branch, per batch and query block: global_keys[b][β][0 .. global_count[b][β]) are
  // key positions, ascending. key_bias[b][j] is added to the scaled logit of key j whenever j
  // is reached through the global branch (it carries the scorer's gradient); may be null (0).
  const std::int32_t* global_keys = nullptr;   // [B, NB, G]
  const std::int32_t* global_count = nullptr;  // [B, NB]
  const float* key_bias = nullptr;             // [B, T]
  // LSH branch, per round. Buckets are in [0, NBk).
  const std::int32_t* query_bucket = nullptr;  // [R, B, H, T]
  const std::int32_t* key_bucket = nullptr;    // [R, B, Hkv, T]
  // Key positions sorted by (bucket, position), the start of each bucket in that order, and
  // each key's index in it (key_rank[key_order[x]] == x).
  const std::int32_t* key_order = nullptr;     // [R, B, Hkv, T]
  const std::int32_t* bucket_start = nullptr;  // [R, B, Hkv, NBk + 1]
  const std::int32_t* key_rank = nullptr;      // [R, B, Hkv, T]
  // Query positions sorted by (bucket, position) and the start of each bucket in that order
  // (the LSH pass processes the queries of one bucket together).
  const std::int32_t* query_order = nullptr;   // [R, B, H, T]
  const std::int32_t* query_bucket_start = nullptr;  // [R, B, H, NBk + 1]
};

// q, k, v, out: [B, T, H or Hkv, D] contiguous; lse: [B, H, T] (the log-sum-exp of each query's
// scaled logits over its whole key set; may be null in inference). f32 only; another dtype
// throws core::Error naming it. Invalid shapes or plans (a global key in the future of its
// block, a bucket out of range) are core::Error too — the plan builder's bugs, not the user's.
void sparse_attention_forward(core::DType dtype, const SparseAttentionShape& shape, const SparseAttentionPlan& plan,
                              const void* q, const void* k, const void* v, void* out, float* lse);

// Gradients by recomputation from q, k, v, out and lse. dq [B, T, H, D], dk and dv
// [B, T, Hkv, D] are OVERWRITTEN; dkey_bias [B, T] (may be null) receives the gradient of
// key_bias, summed over heads, also overwritten.
void sparse_attention_backward(core::DType dtype, const SparseAttentionShape& shape, const SparseAttentionPlan& plan,
                               const void* q, const void* k, const void* v, const void* out, const float* lse,
                               const void* dout, void* dq, void* dk, void* dv, float* dkey_bias);

// The functions above run the best instruction set core::cpu_features() allows; these run a
// given one (tests run every path in one process). Asking for one the CPU lacks is core::Error.
void sparse_attention_forward_isa(AttentionIsa isa, core::DType dtype, const SparseAttentionShape& shape,
                                  const SparseAttentionPlan& plan, const void* q, const void* k, const void* v,
                                  void* out, float* lse);
void sparse_attention_backward_isa(AttentionIsa isa, core::DType dtype, const SparseAttentionShape& shape,
                                   const SparseAttentionPlan& plan, const void* q, const void* k, const void* v,
                                   const void* out, const float* lse, const void* dout, void* dq, void* dk,
                                   void* dv, float* dkey_bias);

}  // namespace sieve::kernels::cpu
