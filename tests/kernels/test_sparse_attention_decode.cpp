// One decoding step against the full kernel: fed one token at a time, sparse_attention_decode
// must give every position the output sparse_attention_forward gives it with the plan that
// build_sparse_attention_plan builds, on every instruction set this CPU runs (head dims with
// and without a vector tail). Letters as in sparse_attention.h.
#include "sieve/kernels/cpu/sparse_attention_decode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "attention_test_util.h"
#include "random_values.h"
#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/kernels/cpu/sparse_attention_plan.h"

namespace sieve::kernels::cpu {
namespace {

using sieve::testing::normal_floats;
using testing::available_isas;
using testing::isa_label;
using testing::scaled_error;

struct Case {
  std::int64_t H, Hkv, D, W, G, C, R, NBk;
  GlobalSelection selection;
};

void expect_decoding_matches_forward(const Case& c, std::uint32_t seed) {
  const std::int64_t B = 2, T = 300, H = c.H, Hkv = c.Hkv, D = c.D;
  const SparseAttentionShape s{B, T, H, Hkv, D, c.W, c.C, c.R, c.NBk, c.G, 1.0f / std::sqrt(static_cast<float>(D))};
  const std::vector<float> q = normal_floats(B * T * H * D, seed), k = normal_floats(B * T * Hkv * D, seed + 1),
                           v = normal_floats(B * T * Hkv * D, seed + 2);
  const std::vector<float> scores = sieve::testing::tied_scores(B * T, seed + 3);
  std::vector<float> key_bias = normal_floats(B * T, seed + 4);
  for (float& x : key_bias) x = -std::abs(x);  // like β·log σ(s) with β > 0
  const std::vector<float> rotations = make_lsh_rotations(c.R, Hkv, D, c.NBk, seed + 5);
  const float* rot = c.R > 0 ? rotations.data() : nullptr;
  const auto plan = build_sparse_attention_plan(s, c.selection, scores.data(), key_bias.data(), q.data(), k.data(), rot);
  std::vector<float> full(q.size());
  sparse_attention_forward_isa(AttentionIsa::portable, core::DType::f32, s, plan.view(), q.data(), k.data(), v.data(),
                               full.data(), nullptr);

  for (AttentionIsa isa : available_isas()) {
    SCOPED_TRACE("D " + std::to_string(D) + " on " + isa_label(isa));
    std::vector<float> decoded(q.size());
    for (std::int64_t b = 0; b < B; ++b) {
      SparseDecodeIndex index(s, c.selection);
      std::vector<float> scratch(static_cast<std::size_t>(c.NBk / 2 + 1));
      std::vector<std::int32_t> buckets(static_cast<std::size_t>(c.R * Hkv + 1));
      const float* kb = k.data() + b * T * Hkv * D;
      const float* vb = v.data() + b * T * Hkv * D;
      for (std::int64_t i = 0; i < T; ++i) {
        for (std::int64_t r = 0; r < c.R; ++r)
          for (std::int64_t g = 0; g < Hkv; ++g)
            buckets[static_cast<std::size_t>(r * Hkv + g)] = lsh_bucket(
                kb + (i * Hkv + g) * D, rot + (r * Hkv + g) * D * (c.NBk / 2), D, c.NBk, scratch.data());
        index.append(scores[static_cast<std::size_t>(b * T + i)], buckets.data());
        sparse_attention_decode_isa(isa, s, i, q.data() + (b * T + i) * H * D, kb, vb, key_bias.data() + b * T, index,
                                    rot, decoded.data() + (b * T + i) * H * D);
      }
    }
    EXPECT_LT(scaled_error(decoded, std::vector<double>(full.begin(), full.end())), 1e-5);
  }
}

TEST(SparseAttentionDecode, MatchesTheFullKernelInThresholdMode) {
  // D 12: a partial vector on every instruction set; two rounds over two kv heads.
  expect_decoding_matches_forward({4, 2, 12, 64, 16, 8, 2, 6, {0.3f, 0.0f}}, 1);
  // lm-17m's head layout (D 64, one kv head per head), one round.
  expect_decoding_matches_forward({6, 6, 64, 96, 40, 16, 1, 8, {0.3f, 0.0f}}, 2);
}

TEST(SparseAttentionDecode, MatchesTheFullKernelInBudgetModeAndWithoutLsh) {
  expect_decoding_matches_forward({4, 1, 40, 64, 24, 8, 3, 4, {0.3f, 0.2f}}, 3);
  expect_decoding_matches_forward({2, 2, 8, 64, 12, 8, 0, 2, {0.5f, 0.0f}}, 4);  // R 0: window and globals
}

TEST(SparseAttentionDecode, AnInstructionSetTheCpuLacksIsAnError) {
  const SparseAttentionShape s{1, 100, 2, 1, 8, 64, 4, 0, 0, 5, 1.0f};
  SparseDecodeIndex index(s, {});
  index.append(0.0f, nullptr);
  const std::vector<float> q(16, 0.5f), kv(8, 0.5f), bias(1, 0.0f);
  std::vector<float> out(16);
  if (!core::cpu_features().has_avx512()) {
    EXPECT_THROW(sparse_attention_decode_isa(AttentionIsa::avx512, s, 0, q.data(), kv.data(), kv.data(), bias.data(),
                                             index, nullptr, out.data()),
                 core::Error);
  }
  if (!core::cpu_features().has_avx2()) {
    EXPECT_THROW(sparse_attention_decode_isa(AttentionIsa::avx2, s, 0, q.data(), kv.data(), kv.data(), bias.data(),
                                             index, nullptr, out.data()),
                 core::Error);
  }
  sparse_attention_decode_isa(AttentionIsa::portable, s, 0, q.data(), kv.data(), kv.data(), bias.data(), index,
                              nullptr, out.data());
  for (float x : out) EXPECT_FLOAT_EQ(x, 0.5f);  // one key: its value
}

}  // namespace
}  // namespace sieve::kernels::cpu
