// Builds the plan the sparse attention kernel reads (NOTE [Sparse plan] in sparse_attention.h):
// the global list of every query block from the scorer's scores, and the LSH buckets and sort
// orders from q, k and random rotations. Letters as in sparse_attention.h.
//
// Global tokens. The normalised score of token j is σ(s_j). Block β's candidates are the tokens
// j <= horizon(β) = β·Q + Q - 1 - W (all in the past of every query of the block when W >= Q).
// Threshold mode (keep_ratio == 0): candidates with σ(s_j) >= threshold; budget mode
// (keep_ratio in (0, 1]): the ceil(keep_ratio · (horizon + 1)) highest-scoring candidates. Either
// way at most G (global_cap) of them, the highest scores first (ties: the earlier position), and
// the list is stored sorted by position. Ranking uses the raw s (σ is monotone; σ saturates to
// equal floats where s still differs); a NaN score is never selected; the budget's ceil forgives
// the float rounding of ρ (ρ = 0.1 of 10 candidates keeps 1: global_budget in
// sparse_decode_index.h). Consecutive blocks' lists come from one running top-G structure over
// the growing prefix, so building all of them is O(T log G + NB · G log G), and the same
// structure (GlobalTopK, sparse_decode_index.h) serves incremental decoding.
//
// LSH (angular, as in Reformer): for round r and kv head g, a rotation R[r][g] [D, NBk/2];
// bucket(x) = argmax of [x·R, -x·R] over the NBk entries (ties: the lower index). Queries of head
// h use the rotation of their kv head, so a query and the keys it reads share one hash. Keys and
// queries are then sorted by (bucket, position) with a stable counting sort: O(T + NBk) per
// round, batch and head (after the O(T · D · NBk) projections).
#pragma once

#include <cstdint>
#include <vector>

#include "sieve/kernels/cpu/sparse_attention.h"

namespace sieve::kernels::cpu {

struct GlobalSelection {
  float threshold = 0.3f;   // τ in [0, 1]: keep σ(s) >= τ (threshold mode)
  float keep_ratio = 0.0f;  // ρ in (0, 1]: budget mode instead of the threshold; 0: off
};

// The plan's arrays, owned. view() points into them. With rounds == 0 the LSH arrays are empty
// (their view pointers null); unused slots of global_keys are 0.
struct SparseAttentionPlanData {
  std::vector<std::int32_t> global_keys, global_count;
  std::vector<float> key_bias;
  std::vector<std::int32_t> query_bucket, key_bucket, key_order, bucket_start, key_rank, query_order,
      query_bucket_start;
  SparseAttentionPlan view() const;
};

// rotations: [R, Hkv, D, NBk / 2] f32 (NBk even). Deterministic in `seed`: entries are standard
// normal draws.
std::vector<float> make_lsh_rotations(std::int64_t rounds, std::int64_t kv_heads, std::int64_t head_dim,
                                      std::int64_t buckets, std::uint64_t seed);

// scores: [B, T] raw scorer outputs s (f32); key_bias: [B, T] (copied into the plan; may be
// null: zeros); q [B, T, H, D], k [B, T, Hkv, D] f32 contiguous; rotations as above (may be null
// when shape.rounds == 0). Options out of range are core::Error (callers validate user input
// first and name the flag).
SparseAttentionPlanData build_sparse_attention_plan(const SparseAttentionShape& shape, const GlobalSelection& selection,
                                                    const float* scores, const float* key_bias, const float* q,
                                                    const float* k, const float* rotations);

}  // namespace sieve::kernels::cpu
