// Attention key mass vs a naive double-precision reference (full causal softmax per query, then
// each key's share summed over queries and averaged over heads), on every instruction set this
// CPU runs: grouped-query heads, T not a multiple of the block, and a minimum query distance.
//
// Letters: B batch, T tokens, H query heads, Hkv kv heads, D head dim.
#include "sieve/kernels/cpu/attention_key_mass.h"

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

// mass [B, T] in double, straight from the definition.
std::vector<double> reference(const Case& c, const std::vector<float>& q, const std::vector<float>& k, float scale) {
  const std::int64_t B = c.batch, T = c.tokens, H = c.heads, Hkv = c.kv_heads, D = c.head_dim, G = H / Hkv;
  std::vector<double> mass(static_cast<std::size_t>(B * T), 0.0), logits(static_cast<std::size_t>(T));
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
          mass[b * T + j] += std::exp(logits[j] - mx) / sum / double(H);
      }
  return mass;
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

TEST(AttentionKeyMass, MatchesTheDoubleReference) {
  const Case cases[] = {
      {1, 1, 1, 1, 4, 0},       // one token: its mass is 1
      {2, 100, 4, 2, 16, 0},    // GQA, T not a multiple of 64
      {1, 200, 6, 3, 24, 0},    // odd head dim, several key blocks
      {2, 150, 4, 1, 8, 0},     // every query head on one kv head
      {1, 190, 4, 2, 16, 64},   // only queries at least 64 tokens later count
      {1, 70, 2, 2, 8, 100},    // min distance beyond T: every mass is 0
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
      const KeyMassShape shape{.batch = c.batch, .tokens = c.tokens, .heads = c.heads, .kv_heads = c.kv_heads,
                               .head_dim = c.head_dim, .scale = scale, .min_distance = c.min_distance};
      attention_key_mass_isa(isa, shape, q.data(), k.data(), lse.data(), got.data());
      double worst = 0.0;
      for (std::size_t i = 0; i < want.size(); ++i)
        worst = std::max(worst, std::abs(got[i] - want[i]) / std::max(want[i], 1e-3));
      EXPECT_LT(worst, 2e-5) << isa_label(isa) << " T " << c.tokens << " H " << c.heads << "/" << c.kv_heads
                             << " distance " << c.min_distance;
    }
  }
}

TEST(AttentionKeyMass, EveryQuerysMassSumsToOne) {
  // With min_distance 0 each query hands out exactly 1, so a row's masses sum to T.
  const Case c{1, 300, 4, 2, 32, 0};
  std::mt19937 rng(42);
  const float scale = 1.0f / std::sqrt(32.0f);
  const auto q = uniform(c.tokens * c.heads * c.head_dim, rng, 3.0f);
  const auto k = uniform(c.tokens * c.kv_heads * c.head_dim, rng, 3.0f);
  const auto lse = dense_lse(c, q, k, scale);
  std::vector<float> mass(static_cast<std::size_t>(c.tokens));
  attention_key_mass({.batch = 1, .tokens = c.tokens, .heads = 4, .kv_heads = 2, .head_dim = 32, .scale = scale},
                     q.data(), k.data(), lse.data(), mass.data());
  double total = 0.0;
  for (float m : mass) total += m;
  EXPECT_NEAR(total, double(c.tokens), 1e-3 * c.tokens);
}

TEST(AttentionKeyMass, BadShapesAreErrors) {
  const float x = 0.0f;
  float out = 0.0f;
  EXPECT_THROW(attention_key_mass({.batch = 1, .tokens = 1, .heads = 3, .kv_heads = 2, .head_dim = 4, .scale = 1.0f},
                                  &x, &x, &x, &out),
               core::Error);
  EXPECT_THROW(attention_key_mass({.batch = 1, .tokens = 1, .heads = 1, .kv_heads = 1, .head_dim = 4, .scale = 1.0f,
                                   .min_distance = -1},
                                  &x, &x, &x, &out),
               core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
