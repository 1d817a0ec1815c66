// Attention key peak vs a naive double-precision reference (full causal softmax per query, then
// each key's largest share over queries and heads), on every instruction set this CPU runs:
// grouped-query heads, T not a multiple of the block, and a minimum query distance.
//
// Letters: B batch, T tokens, H query heads, Hkv kv heads, D head dim.
#include "sieve/kernels/cpu/attention_key_peak.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "attention_test_util.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace {

using testing::available_isas;
using testing::isa_label;

struct Case {
  std::int64_t batch, tokens, heads, kv_heads, head_dim, min_distance;
};

std::vector<float> uniform(std::int64_t n, std::mt19937& rng, float range) {
  std::uniform_real_distribution<float> dist(-range, range);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// peak [B, T] straight from the definition, in double.
std::vector<double> reference(const Case& c, const std::vector<float>& q, const std::vector<float>& k, float scale) {
  const std::int64_t B = c.batch, T = c.tokens, H = c.heads, Hkv = c.kv_heads, D = c.head_dim, G = H / Hkv;
  std::vector<double> peak(static_cast<std::size_t>(B * T), 0.0), logits(static_cast<std::size_t>(T));
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < T; ++i) {
        double mx = -INFINITY;
        for (std::int64_t j = 0; j <= i; ++j) {
          double dot = 0.0;
          for (std::int64_t d = 0; d < D; ++d)
            dot += double(q[((b * T + i) * H + h) * D + d]) * double(k[((b * T + j) * Hkv + h / G) * D + d]);
          logits[j] = dot * scale;
          mx = std::max(mx, logits[j]);
        }
        double sum = 0.0;
        for (std::int64_t j = 0; j <= i; ++j) sum += std::exp(logits[j] - mx);
        for (std::int64_t j = 0; j <= i - c.min_distance; ++j)
          peak[b * T + j] = std::max(peak[b * T + j], std::exp(logits[j] - mx) / sum);
      }
  return peak;
}

// lse [B, H, T] from the fused dense kernel, as the layer obtains it (k passed as v: only lse is read).
std::vector<float> dense_lse(const Case& c, const std::vector<float>& q, const std::vector<float>& k, float scale) {
  CausalAttentionShape shape{};
  shape.batch = c.batch;
  shape.query_tokens = shape.key_tokens = c.tokens;
  shape.heads = c.heads;
  shape.kv_heads = c.kv_heads;
  shape.head_dim = c.head_dim;
  shape.scale = scale;
  std::vector<float> out(q.size()), lse(static_cast<std::size_t>(c.batch * c.heads * c.tokens));
  attention_causal_forward(core::DType::f32, shape, q.data(), k.data(), k.data(), out.data(), lse.data());
  return lse;
}

TEST(AttentionKeyPeak, MatchesTheDoubleReference) {
  const Case cases[] = {
      {1, 1, 1, 1, 4, 0},       // one token: its peak is 1
      {2, 100, 4, 2, 16, 0},    // GQA, T not a multiple of 64
      {1, 200, 6, 3, 24, 0},    // odd head dim, several key blocks
      {2, 150, 4, 1, 8, 0},     // every query head on one kv head
      {1, 190, 4, 2, 16, 64},   // only queries at least 64 tokens later count
      {1, 70, 2, 2, 8, 100},    // min distance beyond T: every peak is 0
  };
  std::uint32_t seed = 1;
  for (const Case& c : cases) {
    std::mt19937 rng(seed++);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    // A range of 2 gives peaked attention rows (logits spread over several units).
    const auto q = uniform(c.batch * c.tokens * c.heads * c.head_dim, rng, 2.0f);
    const auto k = uniform(c.batch * c.tokens * c.kv_heads * c.head_dim, rng, 2.0f);
    const auto want = reference(c, q, k, scale);
    const auto lse = dense_lse(c, q, k, scale);
    for (AttentionIsa isa : available_isas()) {
      std::vector<float> got(want.size(), -1.0f);
      const KeyPeakShape shape{.batch = c.batch, .tokens = c.tokens, .heads = c.heads, .kv_heads = c.kv_heads,
                               .head_dim = c.head_dim, .scale = scale, .min_distance = c.min_distance};
      attention_key_peak_isa(isa, shape, q.data(), k.data(), lse.data(), got.data());
      double worst = 0.0;
      for (std::size_t i = 0; i < want.size(); ++i)
        worst = std::max(worst, std::abs(got[i] - want[i]) / std::max(want[i], 1e-3));
      EXPECT_LT(worst, 2e-5) << isa_label(isa) << " T " << c.tokens << " H " << c.heads << "/" << c.kv_heads
                             << " distance " << c.min_distance;
    }
  }
}

TEST(AttentionKeyPeak, OneSharpRetrievalStandsOut) {
  // Near-uniform attention everywhere, except that the last query looks up key 10 with a score
  // far above the rest: key 10's peak is ~1, every other key's stays near a uniform share.
  const Case c{1, 300, 2, 1, 16, 64};
  std::mt19937 rng(42);
  const float scale = 1.0f / std::sqrt(16.0f);
  auto q = uniform(c.tokens * c.heads * c.head_dim, rng, 0.3f);
  auto k = uniform(c.tokens * c.kv_heads * c.head_dim, rng, 0.3f);
  k[10 * c.head_dim] = 8.0f;                                // key 10, kv head 0, dim 0
  q[((c.tokens - 1) * c.heads + 0) * c.head_dim] = 8.0f;   // the last query, head 0, dim 0: score 16
  const auto lse = dense_lse(c, q, k, scale);
  std::vector<float> peak(static_cast<std::size_t>(c.tokens));
  attention_key_peak({.batch = 1, .tokens = c.tokens, .heads = 2, .kv_heads = 1, .head_dim = 16, .scale = scale,
                      .min_distance = c.min_distance},
                     q.data(), k.data(), lse.data(), peak.data());
  EXPECT_GT(peak[10], 0.99f);
  for (std::int64_t j = 0; j < c.tokens; ++j) {
    if (j == 10) continue;
    EXPECT_LT(peak[j], 0.1f) << "key " << j;
    if (j > c.tokens - 1 - c.min_distance) {
      EXPECT_EQ(peak[j], 0.0f) << "key " << j << " has no query far enough";
    }
  }
}

TEST(AttentionKeyPeak, BadShapesAreErrors) {
  const float x = 0.0f;
  float peak = 0.0f;
  EXPECT_THROW(attention_key_peak({.batch = 1, .tokens = 1, .heads = 3, .kv_heads = 2, .head_dim = 4, .scale = 1.0f},
                                  &x, &x, &x, &peak),
               core::Error);
  EXPECT_THROW(attention_key_peak({.batch = 1, .tokens = 1, .heads = 1, .kv_heads = 1, .head_dim = 4, .scale = 1.0f,
                                   .min_distance = -1},
                                  &x, &x, &x, &peak),
               core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
