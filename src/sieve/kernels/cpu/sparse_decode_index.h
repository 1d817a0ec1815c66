// Sparse attention's plan, one token at a time: what KV-cache decoding needs to find each new
// query's global and LSH keys without rebuilding the plan (sparse_attention_plan.h) at every
// step. It also holds the two rules the full builder and decoding must agree on bit for bit —
// the running top-G global selection and the LSH bucket of a vector — so both call the same
// code. Letters as in sparse_attention.h.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sieve/kernels/cpu/sparse_attention.h"
#include "sieve/kernels/cpu/sparse_attention_plan.h"

namespace sieve::kernels::cpu {

// The newest position block β's global list may hold: β·Q + Q − 1 − W (negative: none).
inline std::int64_t global_horizon(std::int64_t block, std::int64_t window) {
  return block * kSparseQueryBlock + kSparseQueryBlock - 1 - window;
}

// Budget mode's list length before the cap for `candidates` candidates: ceil(ρ · candidates),
// forgiving the float rounding of ρ (ρ = 0.1f with 10 candidates keeps 1, not 2).
std::int64_t global_budget(float keep_ratio, std::int64_t candidates);

// Whether a token of raw score s may enter a list at all: σ(s) >= τ in threshold mode, any
// non-NaN score in budget mode. A NaN score is never selected.
bool global_admits(const GlobalSelection& selection, float score);

// The G best tokens seen so far (higher raw score first — σ is monotone, and ranking the raw
// score avoids σ's float saturation ties; equal scores: the earlier position), as a heap with
// the worst on top. Tokens must arrive in increasing position.
class GlobalTopK {
 public:
  GlobalTopK(const GlobalSelection& selection, std::int64_t cap);

  // O(log G).
  void push(std::int32_t position, float score);
  // The list of a block whose candidates are exactly the tokens pushed so far (`candidates`
  // of them): the best min(G, budget) — all kept ones in threshold mode — sorted by position.
  // O(G log G); `out` is overwritten.
  void list(std::int64_t candidates, std::vector<std::int32_t>& out);

 private:
  struct Entry {
    float score;
    std::int32_t position;
  };
  // a before b: a is worse (lower score, or equal score and later position).
  static bool worse(const Entry& a, const Entry& b) {
    return a.score < b.score || (a.score == b.score && a.position > b.position);
  }
  GlobalSelection selection_;
  std::int64_t cap_;
  std::vector<Entry> heap_;  // std::push_heap with comparator "better": the worst is on top
  std::vector<Entry> scratch_;  // list()'s working copy of the heap
};

// bucket(x) = argmax of [x·R, −x·R] over NBk entries, ties to the lower index. x [D];
// rotation [D, NBk / 2] (one round and kv head of make_lsh_rotations); scratch [NBk / 2].
std::int32_t lsh_bucket(const float* x, const float* rotation, std::int64_t head_dim, std::int64_t buckets,
                        float* scratch);

// One per (batch row, layer). Feed it every token of the sequence in order (a prompt's too);
// before attending the query at position i (i <= size(): its own token need not be appended
// yet) ask for its global list and, per (round, kv head), the keys of its query's bucket.
// Memory O(T · R · Hkv + NBk · R · Hkv); append is O(log G + R · Hkv) amortised.
class SparseDecodeIndex {
 public:
  // Uses shape.window, global_cap, rounds, buckets and kv_heads (the rest is ignored);
  // validated as build_sparse_attention_plan does.
  SparseDecodeIndex(const SparseAttentionShape& shape, const GlobalSelection& selection);

  // The next token (position size()): its raw score and its key bucket per round and kv head
  // (key_buckets [R, Hkv], each in [0, NBk); may be null when R == 0).
  void append(float score, const std::int32_t* key_buckets);
  std::int64_t size() const { return static_cast<std::int64_t>(scores_.size()); }

  // The global list of query position i's block, ascending — the same list
  // build_sparse_attention_plan gives block i / Q. The caller still applies j <= i − W per
  // query. Queries must come in non-decreasing block order (the running selection only moves
  // forward); the span stays valid until the next call that moves to a later block.
  std::span<const std::int32_t> global_keys(std::int64_t position);

  // Positions j <= i − W of the keys in `bucket` of round r and kv head g, ascending (the LSH
  // branch takes the last C of them).
  std::span<const std::int32_t> bucket_keys(std::int64_t round, std::int64_t kv_head, std::int64_t bucket,
                                            std::int64_t position) const;

 private:
  std::int64_t window_, rounds_, kv_heads_, buckets_;
  std::vector<float> scores_;                       // [T]
  GlobalTopK top_;
  std::int64_t consumed_ = 0;                       // tokens pushed into top_
  std::int64_t block_ = -1;                         // the block list_ belongs to
  std::vector<std::int32_t> list_;                  // that block's global list
  std::vector<std::vector<std::int32_t>> buckets_keys_;  // [R, Hkv, NBk] → positions ascending
};

}  // namespace sieve::kernels::cpu
