// The sparse attention plan builder against a naive restatement of its rules: global lists of
// every block in threshold and budget modes (ties, the cap, empty horizons, τ = 0 and τ = 1),
// the LSH sort orders and offsets, the hash's properties, determinism and option checks.
// Letters as in sparse_attention.h.
#include "sieve/kernels/cpu/sparse_attention_plan.h"

#include "random_values.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/sparse_decode_index.h"

namespace sieve::kernels::cpu {
namespace {

using sieve::testing::normal_floats;
using sieve::testing::tied_scores;

constexpr std::int64_t Q = kSparseQueryBlock;

SparseAttentionShape make_shape(std::int64_t B, std::int64_t T, std::int64_t W, std::int64_t G, std::int64_t R = 0,
                                std::int64_t H = 2, std::int64_t Hkv = 1, std::int64_t D = 8, std::int64_t NBk = 8) {
  return SparseAttentionShape{B, T, H, Hkv, D, W, /*lsh_keys=*/4, R, NBk, G, 1.0f / std::sqrt(float(D))};
}

// The rules of sparse_attention_plan.h written out directly: all candidates, sorted.
std::vector<std::int32_t> naive_global_list(const float* row, std::int64_t block, std::int64_t W, std::int64_t G,
                                            const GlobalSelection& sel) {
  const std::int64_t horizon = block * Q + Q - 1 - W;
  if (horizon < 0) return {};
  std::vector<std::int32_t> cand;
  for (std::int64_t j = 0; j <= horizon; ++j) {
    const float s = row[j];
    if (std::isnan(s)) continue;
    if (sel.keep_ratio == 0.0f && !(1.0f / (1.0f + std::exp(-s)) >= sel.threshold)) continue;
    cand.push_back(static_cast<std::int32_t>(j));
  }
  std::sort(cand.begin(), cand.end(), [&](std::int32_t a, std::int32_t b) {
    return row[a] > row[b] || (row[a] == row[b] && a < b);
  });
  std::int64_t keep = std::min<std::int64_t>(G, static_cast<std::int64_t>(cand.size()));
  if (sel.keep_ratio > 0.0f) keep = std::min(keep, global_budget(sel.keep_ratio, horizon + 1));
  cand.resize(static_cast<std::size_t>(keep));
  std::sort(cand.begin(), cand.end());
  return cand;
}

std::vector<std::int32_t> plan_list(const SparseAttentionPlanData& plan, const SparseAttentionShape& s,
                                    std::int64_t b, std::int64_t block) {
  const std::int64_t NB = (s.tokens + Q - 1) / Q;
  const std::int32_t count = plan.global_count[static_cast<std::size_t>(b * NB + block)];
  const auto first = plan.global_keys.begin() + (b * NB + block) * s.global_cap;
  return {first, first + count};
}

void expect_global_lists_match(const SparseAttentionShape& s, const GlobalSelection& sel,
                               const std::vector<float>& scores) {
  const SparseAttentionPlanData plan = build_sparse_attention_plan(s, sel, scores.data(), nullptr, nullptr, nullptr,
                                                                   nullptr);
  const std::int64_t NB = (s.tokens + Q - 1) / Q;
  ASSERT_EQ(plan.global_count.size(), static_cast<std::size_t>(s.batch * NB));
  ASSERT_EQ(plan.global_keys.size(), static_cast<std::size_t>(s.batch * NB * s.global_cap));
  for (std::int64_t b = 0; b < s.batch; ++b)
    for (std::int64_t block = 0; block < NB; ++block)
      ASSERT_EQ(plan_list(plan, s, b, block),
                naive_global_list(scores.data() + b * s.tokens, block, s.window, s.global_cap, sel))
          << "T " << s.tokens << " W " << s.window << " G " << s.global_cap << " τ " << sel.threshold << " ρ "
          << sel.keep_ratio << " b " << b << " block " << block;
}

TEST(SparsePlanGlobal, MatchesNaiveRulesInBothModes) {
  const std::vector<GlobalSelection> selections = {{0.0f, 0.0f}, {0.3f, 0.0f}, {0.5f, 0.0f}, {0.9f, 0.0f},
                                                   {1.0f, 0.0f}, {0.3f, 0.05f}, {0.3f, 0.3f}, {0.3f, 1.0f}};
  std::uint32_t seed = 1;
  for (std::int64_t T : {1, 63, 64, 65, 200, 333})
    for (std::int64_t W : {64, 100, 128})
      for (std::int64_t G : {0, 1, 5, 40})
        for (const GlobalSelection& sel : selections)
          expect_global_lists_match(make_shape(2, T, W, G), sel, tied_scores(2 * T, ++seed));
}

TEST(SparsePlanGlobal, ThresholdZeroKeepsTheWholePrefix) {
  const auto s = make_shape(1, 300, 64, 1000);
  std::vector<float> scores = normal_floats(300, 3);
  scores[7] = -std::numeric_limits<float>::infinity();  // σ = 0 >= 0
  const auto plan = build_sparse_attention_plan(s, {0.0f, 0.0f}, scores.data(), nullptr, nullptr, nullptr, nullptr);
  for (std::int64_t block = 0; block < 5; ++block) {
    std::vector<std::int32_t> expected;
    for (std::int64_t j = 0; j <= block * Q + Q - 1 - 64; ++j) expected.push_back(static_cast<std::int32_t>(j));
    EXPECT_EQ(plan_list(plan, s, 0, block), expected) << block;
  }
}

TEST(SparsePlanGlobal, ThresholdOneKeepsOnlySaturatedScores) {
  const auto s = make_shape(1, 256, 64, 100);
  std::vector<float> scores(256, 5.0f);  // σ(5) < 1
  for (int j : {3, 70, 71, 150}) scores[static_cast<std::size_t>(j)] = 50.0f;  // σ(50) == 1 in float
  const auto plan = build_sparse_attention_plan(s, {1.0f, 0.0f}, scores.data(), nullptr, nullptr, nullptr, nullptr);
  EXPECT_EQ(plan_list(plan, s, 0, 0), std::vector<std::int32_t>{});          // horizon −1
  EXPECT_EQ(plan_list(plan, s, 0, 1), (std::vector<std::int32_t>{3}));       // horizon 63
  EXPECT_EQ(plan_list(plan, s, 0, 2), (std::vector<std::int32_t>{3, 70, 71}));  // horizon 127
  EXPECT_EQ(plan_list(plan, s, 0, 3), (std::vector<std::int32_t>{3, 70, 71, 150}));
}

TEST(SparsePlanGlobal, CapKeepsEarliestAmongTiesAndBestScores) {
  const auto s = make_shape(1, 256, 64, 3);
  std::vector<float> scores(256, 1.0f);
  const auto tied = build_sparse_attention_plan(s, {0.0f, 0.0f}, scores.data(), nullptr, nullptr, nullptr, nullptr);
  for (std::int64_t block = 1; block < 4; ++block)
    EXPECT_EQ(plan_list(tied, s, 0, block), (std::vector<std::int32_t>{0, 1, 2})) << block;
  scores[100] = 3.0f, scores[20] = 2.0f, scores[150] = 2.0f, scores[180] = 2.5f;
  const auto best = build_sparse_attention_plan(s, {0.0f, 0.0f}, scores.data(), nullptr, nullptr, nullptr, nullptr);
  EXPECT_EQ(plan_list(best, s, 0, 1), (std::vector<std::int32_t>{0, 1, 20}));     // horizon 63
  EXPECT_EQ(plan_list(best, s, 0, 2), (std::vector<std::int32_t>{0, 20, 100}));   // horizon 127
  EXPECT_EQ(plan_list(best, s, 0, 3), (std::vector<std::int32_t>{20, 100, 180}));  // 150 ties 20, later
}

TEST(SparsePlanGlobal, NegativeHorizonsAreEmpty) {
  const auto s = make_shape(1, 400, 200, 10);
  std::vector<float> scores(400, 3.0f);
  const auto plan = build_sparse_attention_plan(s, {0.1f, 0.0f}, scores.data(), nullptr, nullptr, nullptr, nullptr);
  for (std::int64_t block = 0; block < 7; ++block) {
    const std::int64_t horizon = block * Q + Q - 1 - 200;
    const std::size_t expected = horizon < 0 ? 0 : static_cast<std::size_t>(std::min<std::int64_t>(10, horizon + 1));
    EXPECT_EQ(plan_list(plan, s, 0, block).size(), expected) << block;
    for (std::int32_t j : plan_list(plan, s, 0, block)) EXPECT_LE(j, horizon);
  }
}

TEST(SparsePlanGlobal, BudgetRounding) {
  EXPECT_EQ(global_budget(0.1f, 10), 1);
  EXPECT_EQ(global_budget(0.1f, 11), 2);
  EXPECT_EQ(global_budget(0.5f, 3), 2);
  EXPECT_EQ(global_budget(1.0f, 777), 777);
  EXPECT_EQ(global_budget(0.3f, 0), 0);
  EXPECT_EQ(global_budget(0.01f, 1), 1);
}

TEST(SparsePlanGlobal, KeyBiasCopiedOrZero) {
  const auto s = make_shape(2, 70, 64, 4);
  const std::vector<float> scores = normal_floats(140, 5), bias = normal_floats(140, 6);
  EXPECT_EQ(build_sparse_attention_plan(s, {}, scores.data(), bias.data(), nullptr, nullptr, nullptr).key_bias, bias);
  EXPECT_EQ(build_sparse_attention_plan(s, {}, scores.data(), nullptr, nullptr, nullptr, nullptr).key_bias,
            std::vector<float>(140, 0.0f));
}

struct LshCase {
  SparseAttentionShape shape;
  std::vector<float> scores, q, k, rotations;
  SparseAttentionPlanData build() const {
    return build_sparse_attention_plan(shape, {}, scores.data(), nullptr, q.data(), k.data(), rotations.data());
  }
};

LshCase make_lsh_case(std::int64_t B, std::int64_t T, std::int64_t H, std::int64_t Hkv, std::int64_t D,
                      std::int64_t R, std::int64_t NBk, std::uint32_t seed) {
  LshCase c;
  c.shape = make_shape(B, T, 64, 8, R, H, Hkv, D, NBk);
  c.scores = normal_floats(B * T, seed);
  c.q = normal_floats(B * T * H * D, seed + 1);
  c.k = normal_floats(B * T * Hkv * D, seed + 2);
  c.rotations = make_lsh_rotations(R, Hkv, D, NBk, seed + 3);
  return c;
}

// Buckets by double precision, skipping vectors whose best two entries are too close to call.
void expect_buckets_match_naive(const std::int32_t* bucket, const float* x, std::int64_t stride, std::int64_t T,
                                const float* rotation, std::int64_t D, std::int64_t NBk) {
  const std::int64_t half = NBk / 2;
  for (std::int64_t t = 0; t < T; ++t) {
    std::vector<double> values(static_cast<std::size_t>(NBk));
    for (std::int64_t n = 0; n < half; ++n) {
      double dot = 0.0;
      for (std::int64_t d = 0; d < D; ++d) dot += double(x[t * stride + d]) * rotation[d * half + n];
      values[static_cast<std::size_t>(n)] = dot;
      values[static_cast<std::size_t>(half + n)] = -dot;
    }
    std::vector<double> sorted = values;
    std::sort(sorted.rbegin(), sorted.rend());
    if (sorted[0] - sorted[1] < 1e-4) continue;
    const auto best = std::max_element(values.begin(), values.end()) - values.begin();
    ASSERT_EQ(bucket[t], best) << "t " << t;
  }
}

// order sorted by (bucket, position), a permutation; start the bucket offsets; rank its inverse.
void expect_sorted_consistent(const std::int32_t* bucket, const std::int32_t* order, const std::int32_t* start,
                              const std::int32_t* rank, std::int64_t T, std::int64_t NBk) {
  ASSERT_EQ(start[0], 0);
  ASSERT_EQ(start[NBk], T);
  std::vector<int> seen(static_cast<std::size_t>(T), 0);
  for (std::int64_t n = 0; n < NBk; ++n) {
    ASSERT_LE(start[n], start[n + 1]);
    for (std::int64_t x = start[n]; x < start[n + 1]; ++x) {
      ASSERT_GE(order[x], 0);
      ASSERT_LT(order[x], T);
      ASSERT_EQ(bucket[order[x]], n);
      if (x > start[n]) {
        ASSERT_LT(order[x - 1], order[x]);
      }
      ++seen[static_cast<std::size_t>(order[x])];
      if (rank) {
        ASSERT_EQ(rank[order[x]], x);
      }
    }
  }
  for (std::int64_t t = 0; t < T; ++t) {
    ASSERT_EQ(seen[static_cast<std::size_t>(t)], 1) << t;
    ASSERT_GE(bucket[t], 0);
    ASSERT_LT(bucket[t], NBk);
  }
}

TEST(SparsePlanLsh, OrdersRanksAndStartsAreConsistent) {
  const LshCase c = make_lsh_case(2, 150, 4, 2, 16, 3, 8, 11);
  const auto plan = c.build();
  const auto& s = c.shape;
  const std::int64_t B = s.batch, T = s.tokens, H = s.heads, Hkv = s.kv_heads, D = s.head_dim, NBk = s.buckets;
  ASSERT_EQ(plan.key_order.size(), static_cast<std::size_t>(s.rounds * B * Hkv * T));
  ASSERT_EQ(plan.query_bucket_start.size(), static_cast<std::size_t>(s.rounds * B * H * (NBk + 1)));
  for (std::int64_t r = 0; r < s.rounds; ++r)
    for (std::int64_t b = 0; b < B; ++b) {
      for (std::int64_t g = 0; g < Hkv; ++g) {
        const std::int64_t task = (r * B + b) * Hkv + g;
        const float* rotation = c.rotations.data() + (r * Hkv + g) * D * (NBk / 2);
        expect_buckets_match_naive(plan.key_bucket.data() + task * T, c.k.data() + (b * T * Hkv + g) * D, Hkv * D, T,
                                   rotation, D, NBk);
        expect_sorted_consistent(plan.key_bucket.data() + task * T, plan.key_order.data() + task * T,
                                 plan.bucket_start.data() + task * (NBk + 1), plan.key_rank.data() + task * T, T, NBk);
      }
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t task = (r * B + b) * H + h;
        const float* rotation = c.rotations.data() + (r * Hkv + h / (H / Hkv)) * D * (NBk / 2);
        expect_buckets_match_naive(plan.query_bucket.data() + task * T, c.q.data() + (b * T * H + h) * D, H * D, T,
                                   rotation, D, NBk);
        expect_sorted_consistent(plan.query_bucket.data() + task * T, plan.query_order.data() + task * T,
                                 plan.query_bucket_start.data() + task * (NBk + 1), nullptr, T, NBk);
      }
    }
}

TEST(SparsePlanLsh, QueryEqualToKeySharesItsBucket) {
  LshCase c = make_lsh_case(2, 90, 6, 2, 8, 2, 16, 21);
  const std::int64_t B = 2, T = 90, H = 6, Hkv = 2, D = 8, group = H / Hkv;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t d = 0; d < D; ++d)
          c.q[static_cast<std::size_t>(((b * T + t) * H + h) * D + d)] =
              c.k[static_cast<std::size_t>(((b * T + t) * Hkv + h / group) * D + d)];
  const auto plan = c.build();
  for (std::int64_t r = 0; r < 2; ++r)
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t t = 0; t < T; ++t)
          ASSERT_EQ(plan.query_bucket[static_cast<std::size_t>(((r * B + b) * H + h) * T + t)],
                    plan.key_bucket[static_cast<std::size_t>(((r * B + b) * Hkv + h / group) * T + t)]);
}

TEST(SparsePlanLsh, BucketsInvariantToPositiveScaling) {
  const LshCase c = make_lsh_case(1, 120, 2, 2, 16, 2, 8, 31);
  const auto plan = c.build();
  std::int64_t used_buckets = 0;
  for (std::int64_t n = 0; n < 8; ++n) used_buckets += plan.bucket_start[n + 1] > plan.bucket_start[n];
  EXPECT_GT(used_buckets, 2);  // the hash spreads keys at all
  // Powers of two scale every product and sum exactly, so the float argmax cannot move.
  for (float factor : {0.25f, 2.0f, 8.0f}) {
    LshCase scaled = c;
    for (float& x : scaled.k) x *= factor;
    for (float& x : scaled.q) x *= factor;
    const auto other = scaled.build();
    EXPECT_EQ(other.key_bucket, plan.key_bucket) << factor;
    EXPECT_EQ(other.query_bucket, plan.query_bucket) << factor;
  }
  // A negated vector lands in the opposite bucket (n ↔ n + NBk/2).
  LshCase negated = c;
  for (float& x : negated.k) x = -x;
  const auto flipped = negated.build();
  for (std::size_t i = 0; i < plan.key_bucket.size(); ++i)
    ASSERT_EQ(flipped.key_bucket[i], (plan.key_bucket[i] + 4) % 8) << i;
}

TEST(SparsePlanLsh, DeterministicInTheSeed) {
  const auto a = make_lsh_rotations(2, 3, 16, 8, 42), b = make_lsh_rotations(2, 3, 16, 8, 42);
  const auto other = make_lsh_rotations(2, 3, 16, 8, 43);
  ASSERT_EQ(a.size(), static_cast<std::size_t>(2 * 3 * 16 * 4));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  // Standard normal entries (loose moments over 20k draws).
  const auto many = make_lsh_rotations(1, 1, 100, 400, 7);
  double mean = 0.0, square = 0.0;
  for (float x : many) mean += x, square += double(x) * x;
  mean /= double(many.size()), square /= double(many.size());
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_NEAR(square, 1.0, 0.05);
  const LshCase c = make_lsh_case(2, 100, 2, 1, 8, 2, 4, 51);
  const auto p1 = c.build(), p2 = c.build();
  EXPECT_EQ(p1.key_order, p2.key_order);
  EXPECT_EQ(p1.query_order, p2.query_order);
  EXPECT_EQ(p1.global_keys, p2.global_keys);
}

TEST(SparsePlanLsh, SameForAnyThreadCount) {
  // Large enough that the builder hands (round, batch, head) tasks to threads.
  const LshCase c = make_lsh_case(2, 1024, 4, 2, 16, 2, 16, 81);
  const int threads = core::num_threads();
  core::set_num_threads(1);
  const auto serial = c.build();
  core::set_num_threads(std::max(2, threads));
  const auto parallel = c.build();
  core::set_num_threads(threads);
  EXPECT_EQ(serial.key_bucket, parallel.key_bucket);
  EXPECT_EQ(serial.key_order, parallel.key_order);
  EXPECT_EQ(serial.key_rank, parallel.key_rank);
  EXPECT_EQ(serial.bucket_start, parallel.bucket_start);
  EXPECT_EQ(serial.query_bucket, parallel.query_bucket);
  EXPECT_EQ(serial.query_order, parallel.query_order);
  EXPECT_EQ(serial.query_bucket_start, parallel.query_bucket_start);
  EXPECT_EQ(serial.global_keys, parallel.global_keys);
}

TEST(SparsePlanLsh, NoRoundsLeavesLshArraysEmpty) {
  const auto s = make_shape(1, 100, 64, 4, /*R=*/0);
  const std::vector<float> scores = normal_floats(100, 61);
  const auto plan = build_sparse_attention_plan(s, {}, scores.data(), nullptr, nullptr, nullptr, nullptr);
  EXPECT_TRUE(plan.key_order.empty() && plan.query_order.empty() && plan.bucket_start.empty());
  EXPECT_EQ(plan.view().key_bucket, nullptr);
  EXPECT_EQ(plan.view().global_count, plan.global_count.data());
}

TEST(SparsePlan, EmptySequence) {
  auto s = make_shape(2, 0, 64, 4, /*R=*/2);
  const auto plan = build_sparse_attention_plan(s, {}, nullptr, nullptr, nullptr, nullptr, nullptr);
  EXPECT_TRUE(plan.global_count.empty() && plan.key_order.empty() && plan.query_order.empty());
  EXPECT_EQ(plan.bucket_start, std::vector<std::int32_t>(2 * 2 * 1 * 9, 0));
  EXPECT_EQ(plan.query_bucket_start, std::vector<std::int32_t>(2 * 2 * 2 * 9, 0));
}

TEST(SparsePlan, RejectsInvalidOptions) {
  const LshCase c = make_lsh_case(1, 10, 2, 1, 4, 1, 4, 71);
  const auto build = [&](SparseAttentionShape s, GlobalSelection sel) {
    return build_sparse_attention_plan(s, sel, c.scores.data(), nullptr, c.q.data(), c.k.data(), c.rotations.data());
  };
  EXPECT_NO_THROW(build(c.shape, {}));
  auto s = c.shape;
  s.window = 63;
  EXPECT_THROW(build(s, {}), core::Error);
  s = c.shape, s.global_cap = -1;
  EXPECT_THROW(build(s, {}), core::Error);
  s = c.shape, s.rounds = -1;
  EXPECT_THROW(build(s, {}), core::Error);
  s = c.shape, s.buckets = 5;
  EXPECT_THROW(build(s, {}), core::Error);
  s = c.shape, s.buckets = 0;
  EXPECT_THROW(build(s, {}), core::Error);
  s = c.shape, s.lsh_keys = 0;
  EXPECT_THROW(build(s, {}), core::Error);
  s = c.shape, s.heads = 3, s.kv_heads = 2;
  EXPECT_THROW(build(s, {}), core::Error);
  EXPECT_THROW(build(c.shape, {1.5f, 0.0f}), core::Error);
  EXPECT_THROW(build(c.shape, {-0.1f, 0.0f}), core::Error);
  EXPECT_THROW(build(c.shape, {0.3f, 1.5f}), core::Error);
  EXPECT_THROW(build(c.shape, {0.3f, -0.5f}), core::Error);
  EXPECT_THROW(make_lsh_rotations(1, 1, 4, 3, 0), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
