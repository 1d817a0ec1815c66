// The incremental decode index against the full plan builder: fed one token at a time, it must
// give every position the plan's global list for its block and, per (round, kv head, bucket),
// the plan's keys of that bucket up to i − W. Letters as in sparse_attention.h.
#include "sieve/kernels/cpu/sparse_decode_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "sieve/core/error.h"
#include "sieve/kernels/cpu/sparse_attention_plan.h"

#include "random_values.h"

namespace sieve::kernels::cpu {
namespace {

using sieve::testing::normal_floats;

// Scores with ties (a coarse grid), saturated values and a NaN now and then.
std::vector<float> tied_scores(std::int64_t n, std::uint32_t seed) { return sieve::testing::tied_scores(n, seed, 30); }

constexpr std::int64_t Q = kSparseQueryBlock;

void expect_index_matches_plan(std::int64_t W, std::int64_t G, const GlobalSelection& sel, std::uint32_t seed) {
  const std::int64_t B = 2, T = 333, H = 4, Hkv = 2, D = 8, R = 2, NBk = 6;
  const SparseAttentionShape s{B, T, H, Hkv, D, W, 4, R, NBk, G, 1.0f};
  const std::vector<float> scores = tied_scores(B * T, seed);
  const std::vector<float> q = normal_floats(B * T * H * D, seed + 1), k = normal_floats(B * T * Hkv * D, seed + 2);
  const std::vector<float> rotations = make_lsh_rotations(R, Hkv, D, NBk, seed + 3);
  const auto plan = build_sparse_attention_plan(s, sel, scores.data(), nullptr, q.data(), k.data(), rotations.data());
  const std::int64_t NB = (T + Q - 1) / Q;

  for (std::int64_t b = 0; b < B; ++b) {
    SparseDecodeIndex index(s, sel);
    std::vector<float> scratch(NBk / 2);
    for (std::int64_t i = 0; i < T; ++i) {
      // Query i is answered before its own token is appended (the index must not need it).
      const auto global = index.global_keys(i);
      const std::int64_t block = i / Q;
      const std::int32_t count = plan.global_count[static_cast<std::size_t>(b * NB + block)];
      const auto first = plan.global_keys.begin() + (b * NB + block) * G;
      ASSERT_EQ(std::vector<std::int32_t>(global.begin(), global.end()),
                std::vector<std::int32_t>(first, first + count))
          << "b " << b << " i " << i;
      for (std::int64_t r = 0; r < R; ++r)
        for (std::int64_t g = 0; g < Hkv; ++g) {
          const std::int64_t task = (r * B + b) * Hkv + g;
          const std::int32_t* order = plan.key_order.data() + task * T;
          const std::int32_t* start = plan.bucket_start.data() + task * (NBk + 1);
          for (std::int64_t n = 0; n < NBk; ++n) {
            std::vector<std::int32_t> expected;
            for (std::int64_t x = start[n]; x < start[n + 1]; ++x)
              if (order[x] <= i - W) expected.push_back(order[x]);
            const auto got = index.bucket_keys(r, g, n, i);
            ASSERT_EQ(std::vector<std::int32_t>(got.begin(), got.end()), expected)
                << "b " << b << " i " << i << " r " << r << " g " << g << " bucket " << n;
          }
        }
      // Append token i: its key buckets computed with the shared hash, as a decoder would.
      std::vector<std::int32_t> buckets(static_cast<std::size_t>(R * Hkv));
      for (std::int64_t r = 0; r < R; ++r)
        for (std::int64_t g = 0; g < Hkv; ++g) {
          buckets[static_cast<std::size_t>(r * Hkv + g)] =
              lsh_bucket(k.data() + ((b * T + i) * Hkv + g) * D, rotations.data() + (r * Hkv + g) * D * (NBk / 2), D,
                         NBk, scratch.data());
          ASSERT_EQ(buckets[static_cast<std::size_t>(r * Hkv + g)],
                    plan.key_bucket[static_cast<std::size_t>(((r * B + b) * Hkv + g) * T + i)]);
        }
      index.append(scores[static_cast<std::size_t>(b * T + i)], buckets.data());
      ASSERT_EQ(index.size(), i + 1);
    }
  }
}

TEST(SparseDecodeIndex, MatchesPlanInThresholdMode) {
  expect_index_matches_plan(64, 7, {0.5f, 0.0f}, 1);
  expect_index_matches_plan(100, 30, {0.0f, 0.0f}, 2);
  expect_index_matches_plan(128, 0, {0.3f, 0.0f}, 3);
}

TEST(SparseDecodeIndex, MatchesPlanInBudgetMode) {
  expect_index_matches_plan(64, 9, {0.3f, 0.1f}, 4);
  expect_index_matches_plan(96, 200, {0.3f, 0.5f}, 5);
  expect_index_matches_plan(64, 3, {0.3f, 1.0f}, 6);
}

TEST(SparseDecodeIndex, RejectsMisuse) {
  const SparseAttentionShape s{1, 0, 2, 1, 8, 64, 4, 1, 4, 5, 1.0f};
  SparseDecodeIndex index(s, {});
  const std::int32_t bad_bucket = 4;
  EXPECT_THROW(index.append(0.0f, &bad_bucket), core::Error);
  const std::int32_t bucket = 1;
  for (int i = 0; i < 200; ++i) index.append(0.0f, &bucket);
  EXPECT_THROW(index.global_keys(201), core::Error);  // beyond the appended tokens
  EXPECT_NO_THROW(index.global_keys(150));
  EXPECT_THROW(index.global_keys(20), core::Error);  // an earlier block
  EXPECT_THROW(index.bucket_keys(1, 0, 0, 100), core::Error);
  EXPECT_EQ(index.bucket_keys(0, 0, 1, 100).size(), 100u - 64u + 1u);
  SparseAttentionShape narrow = s;
  narrow.window = 32;
  EXPECT_THROW(SparseDecodeIndex(narrow, {}), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
