// The sparse attention plan builder (sparse_attention_plan.h). The selection and hashing rules
// live in sparse_decode_index.h so that decoding reproduces this plan exactly. Letters as in
// sparse_attention.h; NB = ceil(T / Q) query blocks.
#include "sieve/kernels/cpu/sparse_attention_plan.h"

#include <algorithm>
#include <limits>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/core/rng.h"
#include "sieve/kernels/cpu/sparse_decode_index.h"

namespace sieve::kernels::cpu {
namespace {

using Index = std::int32_t;

void check_plan_inputs(const SparseAttentionShape& s, const GlobalSelection& selection) {
  SIEVE_CHECK(s.batch >= 0 && s.tokens >= 0, "sparse attention plan: batch {} and tokens {} must be >= 0", s.batch,
              s.tokens);
  SIEVE_CHECK(s.tokens <= std::numeric_limits<Index>::max(), "sparse attention plan: {} tokens exceed int32",
              s.tokens);
  SIEVE_CHECK(s.heads >= 1 && s.kv_heads >= 1 && s.heads % s.kv_heads == 0,
              "sparse attention plan: heads {} must be a positive multiple of kv_heads {}", s.heads, s.kv_heads);
  SIEVE_CHECK(s.head_dim >= 1, "sparse attention plan: head_dim must be >= 1, got {}", s.head_dim);
  SIEVE_CHECK(s.window >= kSparseQueryBlock, "sparse attention plan: window must be >= {}, got {}",
              kSparseQueryBlock, s.window);
  SIEVE_CHECK(s.global_cap >= 0, "sparse attention plan: global_cap must be >= 0, got {}", s.global_cap);
  SIEVE_CHECK(s.rounds >= 0, "sparse attention plan: rounds must be >= 0, got {}", s.rounds);
  if (s.rounds > 0) {
    SIEVE_CHECK(s.buckets >= 2 && s.buckets % 2 == 0, "sparse attention plan: buckets must be even and >= 2, got {}",
                s.buckets);
    SIEVE_CHECK(s.lsh_keys >= 1, "sparse attention plan: lsh_keys must be >= 1, got {}", s.lsh_keys);
  }
  SIEVE_CHECK(selection.threshold >= 0.0f && selection.threshold <= 1.0f,
              "sparse attention plan: threshold must be in [0, 1], got {}", selection.threshold);
  SIEVE_CHECK(selection.keep_ratio >= 0.0f && selection.keep_ratio <= 1.0f,
              "sparse attention plan: keep_ratio must be in [0, 1], got {}", selection.keep_ratio);
}

// Global lists of batch row b: one running top-G over the prefix, read at each block's horizon.
void build_global_lists(const SparseAttentionShape& s, const GlobalSelection& selection, const float* scores,
                        std::int64_t b, Index* keys, Index* count) {
  const std::int64_t T = s.tokens, G = s.global_cap;
  const std::int64_t NB = (T + kSparseQueryBlock - 1) / kSparseQueryBlock;
  const float* row = scores + b * T;  // [T]
  GlobalTopK top(selection, G);
  std::vector<Index> list;
  std::int64_t consumed = 0;
  for (std::int64_t block = 0; block < NB; ++block) {
    const std::int64_t horizon = global_horizon(block, s.window);  // < T since W >= Q
    for (; consumed <= horizon; ++consumed) top.push(static_cast<Index>(consumed), row[consumed]);
    if (horizon >= 0)
      top.list(horizon + 1, list);
    else
      list.clear();
    std::copy(list.begin(), list.end(), keys + (b * NB + block) * G);  // [G] slot, first count used
    count[b * NB + block] = static_cast<Index>(list.size());
  }
}

// Buckets of the T vectors x[t] (stride `stride` floats) under one rotation [D, NBk/2], then the
// positions sorted by (bucket, position) — a counting sort, stable, O(T + NBk) — with the
// bucket offsets and, when `rank` is set, the inverse permutation.
void hash_and_sort(const SparseAttentionShape& s, const float* x, std::int64_t stride, const float* rotation,
                   Index* bucket, Index* order, Index* start, Index* rank) {
  const std::int64_t T = s.tokens, NBk = s.buckets;
  std::vector<float> scratch(static_cast<std::size_t>(NBk / 2));
  std::fill(start, start + NBk + 1, 0);
  for (std::int64_t t = 0; t < T; ++t) {
    bucket[t] = lsh_bucket(x + t * stride, rotation, s.head_dim, NBk, scratch.data());
    ++start[bucket[t] + 1];
  }
  for (std::int64_t n = 0; n < NBk; ++n) start[n + 1] += start[n];  // start [NBk + 1]
  std::vector<Index> next(start, start + NBk);
  for (std::int64_t t = 0; t < T; ++t) {
    const Index slot = next[static_cast<std::size_t>(bucket[t])]++;
    order[slot] = static_cast<Index>(t);
    if (rank) rank[t] = slot;
  }
}

}  // namespace

SparseAttentionPlan SparseAttentionPlanData::view() const {
  SparseAttentionPlan plan;
  plan.global_keys = global_keys.data();
  plan.global_count = global_count.data();
  plan.key_bias = key_bias.data();
  plan.query_bucket = query_bucket.data();
  plan.key_bucket = key_bucket.data();
  plan.key_order = key_order.data();
  plan.bucket_start = bucket_start.data();
  plan.key_rank = key_rank.data();
  plan.query_order = query_order.data();
  plan.query_bucket_start = query_bucket_start.data();
  return plan;
}

std::vector<float> make_lsh_rotations(std::int64_t rounds, std::int64_t kv_heads, std::int64_t head_dim,
                                      std::int64_t buckets, std::uint64_t seed) {
  SIEVE_CHECK(rounds >= 0 && kv_heads >= 1 && head_dim >= 1, "make_lsh_rotations: rounds {}, kv_heads {}, head_dim {}",
              rounds, kv_heads, head_dim);
  SIEVE_CHECK(buckets >= 2 && buckets % 2 == 0, "make_lsh_rotations: buckets must be even and >= 2, got {}", buckets);
  std::vector<float> rotations(static_cast<std::size_t>(rounds * kv_heads * head_dim * (buckets / 2)));
  core::Rng rng(seed);
  for (float& value : rotations) value = static_cast<float>(rng.normal());
  return rotations;
}

SparseAttentionPlanData build_sparse_attention_plan(const SparseAttentionShape& shape, const GlobalSelection& selection,
                                                    const float* scores, const float* key_bias, const float* q,
                                                    const float* k, const float* rotations) {
  check_plan_inputs(shape, selection);
  const std::int64_t B = shape.batch, T = shape.tokens, H = shape.heads, Hkv = shape.kv_heads, D = shape.head_dim;
  const std::int64_t G = shape.global_cap, R = shape.rounds, NBk = shape.buckets;
  const std::int64_t NB = (T + kSparseQueryBlock - 1) / kSparseQueryBlock;
  const bool has_tokens = B * T > 0;
  SIEVE_CHECK(!has_tokens || scores != nullptr, "sparse attention plan: scores is null");
  SIEVE_CHECK(!has_tokens || R == 0 || (q && k && rotations), "sparse attention plan: q, k or rotations is null");
  const auto size = [](std::int64_t n) { return static_cast<std::size_t>(n); };

  SparseAttentionPlanData data;
  // Global branch: global_keys [B, NB, G] (unused slots 0), global_count [B, NB], key_bias [B, T].
  data.global_keys.assign(size(B * NB * G), 0);
  data.global_count.assign(size(B * NB), 0);
  if (key_bias)
    data.key_bias.assign(key_bias, key_bias + B * T);
  else
    data.key_bias.assign(size(B * T), 0.0f);
  // Rows of a few thousand tokens are microseconds of work: threads only pay beyond that.
  const std::int64_t row_grain = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / std::max<std::int64_t>(1, T));
  core::parallel_for(B, row_grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b)
      build_global_lists(shape, selection, scores, b, data.global_keys.data(), data.global_count.data());
  });
  if (R == 0) return data;

  // LSH branch: key arrays [R, B, Hkv, T] and [R, B, Hkv, NBk + 1]; query arrays [R, B, H, T]
  // and [R, B, H, NBk + 1]. One task per (round, batch, head), keys first.
  data.key_bucket.resize(size(R * B * Hkv * T));
  data.key_order.resize(size(R * B * Hkv * T));
  data.key_rank.resize(size(R * B * Hkv * T));
  data.bucket_start.resize(size(R * B * Hkv * (NBk + 1)));
  data.query_bucket.resize(size(R * B * H * T));
  data.query_order.resize(size(R * B * H * T));
  data.query_bucket_start.resize(size(R * B * H * (NBk + 1)));
  if (!has_tokens) return data;  // every bucket empty: the zeroed offsets are the plan
  const std::int64_t key_tasks = R * B * Hkv, tasks = key_tasks + R * B * H;
  const std::int64_t group = H / Hkv;
  const std::int64_t task_work = std::max<std::int64_t>(1, T * D * (NBk / 2));  // multiply-adds per task
  const std::int64_t task_grain = std::max<std::int64_t>(1, (std::int64_t{1} << 18) / task_work);
  core::parallel_for(tasks, task_grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t task = begin; task < end; ++task) {
      if (task < key_tasks) {
        const std::int64_t r = task / (B * Hkv), b = task / Hkv % B, g = task % Hkv;  // task = (r·B + b)·Hkv + g
        const float* rotation = rotations + (r * Hkv + g) * D * (NBk / 2);
        hash_and_sort(shape, k + (b * T * Hkv + g) * D, Hkv * D, rotation, data.key_bucket.data() + task * T,
                      data.key_order.data() + task * T, data.bucket_start.data() + task * (NBk + 1),
                      data.key_rank.data() + task * T);
      } else {
        const std::int64_t qt = task - key_tasks;  // (r·B + b)·H + h
        const std::int64_t r = qt / (B * H), b = qt / H % B, h = qt % H;
        const float* rotation = rotations + (r * Hkv + h / group) * D * (NBk / 2);
        hash_and_sort(shape, q + (b * T * H + h) * D, H * D, rotation, data.query_bucket.data() + qt * T,
                      data.query_order.data() + qt * T, data.query_bucket_start.data() + qt * (NBk + 1), nullptr);
      }
    }
  });
  return data;
}

}  // namespace sieve::kernels::cpu
