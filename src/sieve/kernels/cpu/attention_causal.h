// Fused attention on the CPU, forward and backward, FlashAttention-style: tiled over query and
// key blocks with an online softmax, so no T x S score matrix ever exists. Causal (decoders)
// by default; bidirectional (encoders) with `causal = false`; either with per-batch key
// lengths (padding).
//
// Letters: B batch, T query tokens, S key tokens, H query heads, Hkv key/value heads
// (H % Hkv == 0: grouped-query attention, query head h reads kv head h / (H/Hkv)), D head dim.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

struct CausalAttentionShape {
  std::int64_t batch, query_tokens, key_tokens, heads, kv_heads, head_dim;
  // Absolute position of query 0 among the keys (KV-cache decode: key_tokens - query_tokens;
  // training: 0). Must be >= 0, so every query sees at least key 0.
  std::int64_t query_offset;
  // Elements between batches in k/v (0 => key_tokens*kv_heads*head_dim, i.e. contiguous); lets a
  // preallocated KV cache [B, S_max, Hkv, D] be read in place.
  std::int64_t kv_batch_stride;
  float scale;  // usually 1/sqrt(D)
  // false: bidirectional — every query sees every key below its batch's key length (an
  // encoder); query_offset must then be 0.
  bool causal = true;
  // [B] keys per batch, each in [1, S] (the rest of the batch is padding no query sees), or
  // null for all S. Read during the call only; applies in both modes.
  const std::int64_t* key_lengths = nullptr;
};

// q, out: [B, T, H, D] contiguous; k, v: [B, S, Hkv, D] (batch stride as above);
// lse: [B, H, T] f32, the natural log-sum-exp of each query row's scaled scores, saved for
// backward (may be null in inference).
// Query t of batch b may see key s iff s < key_lengths[b] (or S) and, when causal,
// s <= t + query_offset. Queries are never masked: a padded query row (t >= key_lengths[b]
// in an encoder) is computed like any other and the caller ignores it.
// Only dtype f32 is implemented; any other dtype throws core::Error naming it.
void attention_causal_forward(core::DType dtype, const CausalAttentionShape& shape, const void* q,
                              const void* k, const void* v, void* out, float* lse);

// Gradients by recomputation from q, k, v, out, lse (no T x S buffer). dq [B, T, H, D] and
// dk/dv [B, S, Hkv, D] are contiguous (whatever kv_batch_stride is) and OVERWRITTEN, not
// accumulated. Keys no query can see get zero gradient.
void attention_causal_backward(core::DType dtype, const CausalAttentionShape& shape,
                               const void* q, const void* k, const void* v, const void* out,
                               const float* lse, const void* dout, void* dq, void* dk, void* dv);

// Instruction sets the kernel is compiled for. The public functions above pick the best one
// core::cpu_features() allows; the *_isa variants exist so tests can run every path in one
// process (features are detected once). Asking for one the CPU lacks throws core::Error.
enum class AttentionIsa { avx512, avx2, portable };

AttentionIsa attention_causal_default_isa();

void attention_causal_forward_isa(AttentionIsa isa, core::DType dtype,
                                  const CausalAttentionShape& shape, const void* q, const void* k,
                                  const void* v, void* out, float* lse);

// How the backward shares its work among threads (NOTE [backward schedule] in
// attention_causal_impl.h): per_kv_head does the fewest flops but has only B*Hkv work items;
// split_passes recomputes scores in a separate dQ pass but balances on any thread count;
// automatic (what attention_causal_backward uses) picks by a cost model.
enum class AttentionBackwardSchedule { automatic, per_kv_head, split_passes };

void attention_causal_backward_isa(AttentionIsa isa, AttentionBackwardSchedule schedule,
                                   core::DType dtype, const CausalAttentionShape& shape,
                                   const void* q, const void* k, const void* v, const void* out,
                                   const float* lse, const void* dout, void* dq, void* dk,
                                   void* dv);

}  // namespace sieve::kernels::cpu
