// causal_attention: values vs a naive softmax(q·kᵀ)·v in double (GQA, query offset, KV-cache
// views), gradients by finite differences, shape errors.
// Letters: B batch, T query tokens, S key tokens, H heads, Hkv kv heads, D head dim.
#include "sieve/ops/attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

// q [B, T, H, D], k/v [B, S, Hkv, D] given contiguous; returns [B, T, H, D].
std::vector<double> attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                                        std::int64_t offset) {
  const auto qv = q.contiguous().to_vector(), kv = k.contiguous().to_vector(), vv = v.contiguous().to_vector();
  const std::int64_t B = q.size(0), T = q.size(1), H = q.size(2), D = q.size(3), S = k.size(1), Hkv = k.size(2);
  std::vector<double> out(static_cast<std::size_t>(B * T * H * D), 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t g = h / (H / Hkv);
        const std::int64_t visible = std::min(S, t + offset + 1);
        std::vector<double> p(static_cast<std::size_t>(visible));
        double mx = -INFINITY, total = 0.0;
        for (std::int64_t s = 0; s < visible; ++s) {
          double dot = 0.0;
          for (std::int64_t d = 0; d < D; ++d)
            dot += double(qv[((b * T + t) * H + h) * D + d]) * kv[((b * S + s) * Hkv + g) * D + d];
          p[s] = dot * scale;
          mx = std::max(mx, p[s]);
        }
        for (auto& x : p) total += (x = std::exp(x - mx));
        for (std::int64_t s = 0; s < visible; ++s)
          for (std::int64_t d = 0; d < D; ++d)
            out[((b * T + t) * H + h) * D + d] += p[s] / total * vv[((b * S + s) * Hkv + g) * D + d];
      }
  return out;
}

void expect_close(const Tensor& got, const std::vector<double>& expected, double tol = 2e-5) {
  const auto g = got.to_vector();
  ASSERT_EQ(g.size(), expected.size());
  for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], expected[i], tol) << i;
}

TEST(CausalAttention, MatchesReference) {
  const std::int64_t B = 2, T = 9, H = 4, D = 16;
  const Tensor q = uniform_tensor({B, T, H, D}, 1);
  const Tensor k = uniform_tensor({B, T, H, D}, 2), v = uniform_tensor({B, T, H, D}, 3);
  const float scale = 1.0f / std::sqrt(float(D));
  const Tensor out = causal_attention(q, k, v, scale);
  EXPECT_EQ(out.shape(), q.shape());
  expect_close(out, attention_reference(q, k, v, scale, 0));
}

TEST(CausalAttention, GroupedQueryHeads) {
  const Tensor q = uniform_tensor({1, 5, 6, 8}, 4);
  const Tensor k = uniform_tensor({1, 5, 2, 8}, 5), v = uniform_tensor({1, 5, 2, 8}, 6);
  expect_close(causal_attention(q, k, v, 0.4f), attention_reference(q, k, v, 0.4, 0));
}

TEST(CausalAttention, KvCacheViewWithQueryOffset) {
  // A cache [B, S_max, Hkv, D] filled up to S tokens; the last T queries sit at S − T.
  const std::int64_t B = 2, Smax = 12, S = 7, T = 3, H = 2, Hkv = 1, D = 8;
  const Tensor cache_k = uniform_tensor({B, Smax, Hkv, D}, 7), cache_v = uniform_tensor({B, Smax, Hkv, D}, 8);
  const Tensor k = cache_k.slice(1, 0, S), v = cache_v.slice(1, 0, S);  // batch stride Smax·Hkv·D
  ASSERT_FALSE(k.is_contiguous());
  const Tensor q = uniform_tensor({B, T, H, D}, 9);
  expect_close(causal_attention(q, k, v, 0.35f, S - T), attention_reference(q, k, v, 0.35, S - T));
}

TEST(CausalAttention, NonContiguousKvIsCopied) {
  // k given as [B, Hkv, S, D] transposed: tokens are not contiguous blocks, so the op copies.
  const Tensor q = uniform_tensor({1, 4, 2, 4}, 10);
  const Tensor k = uniform_tensor({1, 2, 4, 4}, 11).transpose(1, 2), v = uniform_tensor({1, 4, 2, 4}, 12);
  expect_close(causal_attention(q, k, v, 0.5f), attention_reference(q, k, v, 0.5, 0));
}

TEST(CausalAttention, Gradient) {
  const Tensor q = requires_grad(uniform_tensor({2, 3, 4, 4}, 13));
  const Tensor k = requires_grad(uniform_tensor({2, 3, 2, 4}, 14));
  const Tensor v = requires_grad(uniform_tensor({2, 3, 2, 4}, 15));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return causal_attention(in[0], in[1], in[2], 0.5f); },
                        {q, k, v}));
}

TEST(CausalAttention, GradientThroughKvCacheViewAndOffset) {
  // Leaves are whole caches; keys past S get zero gradient through the slice.
  const std::int64_t S = 4;
  const Tensor q = requires_grad(uniform_tensor({2, 2, 2, 4}, 16));
  const Tensor ck = requires_grad(uniform_tensor({2, 6, 1, 4}, 17));
  const Tensor cv = requires_grad(uniform_tensor({2, 6, 1, 4}, 18));
  EXPECT_TRUE(gradcheck(
      [S](const std::vector<Tensor>& in) {
        return causal_attention(in[0], slice(in[1], 1, 0, S), slice(in[2], 1, 0, S), 0.6f, S - 2);
      },
      {q, ck, cv}));
}

TEST(CausalAttention, GradientForQueryOnly) {
  const Tensor q = requires_grad(uniform_tensor({1, 3, 2, 4}, 19));
  const Tensor k = uniform_tensor({1, 3, 2, 4}, 20), v = uniform_tensor({1, 3, 2, 4}, 21);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return causal_attention(in[0], in[1], in[2], 0.5f); },
                        {q, k, v}));
}

TEST(CausalAttention, BadShapesAreErrors) {
  const Tensor q = uniform_tensor({1, 3, 4, 8}, 1);
  EXPECT_THROW(causal_attention(q, uniform_tensor({1, 3, 3, 8}, 2), uniform_tensor({1, 3, 3, 8}, 3), 1.0f),
               core::Error);  // H % Hkv
  EXPECT_THROW(causal_attention(q, uniform_tensor({1, 3, 4, 4}, 2), uniform_tensor({1, 3, 4, 4}, 3), 1.0f),
               core::Error);  // D
  EXPECT_THROW(causal_attention(q, uniform_tensor({2, 3, 4, 8}, 2), uniform_tensor({2, 3, 4, 8}, 3), 1.0f),
               core::Error);  // B
  EXPECT_THROW(causal_attention(q, uniform_tensor({1, 3, 4, 8}, 2), uniform_tensor({1, 4, 4, 8}, 3), 1.0f),
               core::Error);  // k vs v
  EXPECT_THROW(causal_attention(uniform_tensor({3, 4, 8}, 1), uniform_tensor({1, 3, 4, 8}, 2),
                                uniform_tensor({1, 3, 4, 8}, 3), 1.0f),
               core::Error);  // rank
  EXPECT_THROW(causal_attention(q, uniform_tensor({1, 3, 4, 8}, 2), uniform_tensor({1, 3, 4, 8}, 3), 1.0f, -1),
               core::Error);
}

}  // namespace
}  // namespace sieve::ops
