// causal_attention and the bidirectional attention with key lengths: values vs a naive
// softmax(q·kᵀ)·v in double (GQA, query offset, KV-cache views, padding), gradients by finite
// differences, shape and length errors.
// Letters: B batch, T query tokens, S key tokens, H heads, Hkv kv heads, D head dim.
#include "sieve/ops/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gradcheck.h"
#include "sieve/autograd/engine.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

// q [B, T, H, D], k/v [B, S, Hkv, D] given contiguous; returns [B, T, H, D]. Causal with
// `offset` when lengths is null; else bidirectional over keys [0, lengths[b]) (empty: all S).
std::vector<double> attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                                        std::int64_t offset, const std::vector<std::int64_t>* lengths = nullptr) {
  const auto qv = q.contiguous().to_vector(), kv = k.contiguous().to_vector(), vv = v.contiguous().to_vector();
  const std::int64_t B = q.size(0), T = q.size(1), H = q.size(2), D = q.size(3), S = k.size(1), Hkv = k.size(2);
  std::vector<double> out(static_cast<std::size_t>(B * T * H * D), 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t g = h / (H / Hkv);
        const std::int64_t visible = lengths == nullptr  ? std::min(S, t + offset + 1)
                                     : lengths->empty() ? S
                                                        : (*lengths)[static_cast<std::size_t>(b)];
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

TEST(Attention, BidirectionalMatchesReference) {
  // Every query sees every key, and T != S works (cross-attention).
  const Tensor q = uniform_tensor({2, 5, 4, 8}, 31);
  const Tensor k = uniform_tensor({2, 9, 2, 8}, 32), v = uniform_tensor({2, 9, 2, 8}, 33);
  const std::vector<std::int64_t> all;
  const Tensor out = attention(q, k, v, 0.4f);
  EXPECT_EQ(out.shape(), q.shape());
  expect_close(out, attention_reference(q, k, v, 0.4, 0, &all));
}

TEST(Attention, KeyLengthsMaskPaddingKeys) {
  const std::int64_t B = 3, T = 7, H = 4, Hkv = 2, D = 8;
  const Tensor q = uniform_tensor({B, T, H, D}, 34);
  Tensor k = uniform_tensor({B, T, Hkv, D}, 35), v = uniform_tensor({B, T, Hkv, D}, 36);
  const std::vector<std::int64_t> lengths = {7, 3, 1};
  const std::vector<double> want = attention_reference(q, k, v, 0.35, 0, &lengths);
  expect_close(attention(q, k, v, 0.35f, lengths), want);
  // Whatever the padding holds does not matter.
  for (std::int64_t b = 1; b < B; ++b) {
    k.slice(0, b, b + 1).slice(1, lengths[b], T).fill(1e4f);
    v.slice(0, b, b + 1).slice(1, lengths[b], T).fill(-1e4f);
  }
  expect_close(attention(q, k, v, 0.35f, lengths), want);
  // The int64 tensor form is the same call.
  const Tensor length_tensor = Tensor::from_vector(lengths, {B});
  EXPECT_EQ(attention(q, k, v, 0.35f, length_tensor).to_vector(), attention(q, k, v, 0.35f, lengths).to_vector());
  EXPECT_EQ(attention(q, k, v, 0.35f, Tensor()).to_vector(), attention(q, k, v, 0.35f).to_vector());
}

TEST(Attention, GradientWithKeyLengths) {
  const Tensor q = requires_grad(uniform_tensor({2, 5, 4, 4}, 37));
  const Tensor k = requires_grad(uniform_tensor({2, 5, 2, 4}, 38));
  const Tensor v = requires_grad(uniform_tensor({2, 5, 2, 4}, 39));
  const std::vector<std::int64_t> lengths = {5, 2};
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], 0.5f, lengths); }, {q, k, v}));
}

TEST(Attention, PaddingKeysGetZeroGradient) {
  const Tensor q = requires_grad(uniform_tensor({2, 4, 2, 4}, 40));
  const Tensor k = requires_grad(uniform_tensor({2, 4, 1, 4}, 41));
  const Tensor v = requires_grad(uniform_tensor({2, 4, 1, 4}, 42));
  const std::vector<std::int64_t> lengths = {4, 2};
  autograd::backward(attention(q, k, v, 0.5f, lengths), uniform_tensor({2, 4, 2, 4}, 43));
  for (const Tensor& grad : {k.grad(), v.grad()}) {
    const auto padding = grad.slice(0, 1, 2).slice(1, 2, 4).contiguous().to_vector();
    for (float x : padding) EXPECT_EQ(x, 0.0f);
    const auto valid = grad.slice(0, 1, 2).slice(1, 0, 2).contiguous().to_vector();
    EXPECT_GT(*std::max_element(valid.begin(), valid.end()), 0.0f);
  }
}

TEST(Attention, BadKeyLengthsAreErrors) {
  const Tensor q = uniform_tensor({2, 3, 2, 4}, 44);
  const Tensor k = uniform_tensor({2, 3, 2, 4}, 45), v = uniform_tensor({2, 3, 2, 4}, 46);
  const std::vector<std::int64_t> one = {3}, zero = {3, 0}, long_ = {3, 4};
  EXPECT_THROW(attention(q, k, v, 1.0f, one), core::Error);    // one per batch
  EXPECT_THROW(attention(q, k, v, 1.0f, zero), core::Error);   // >= 1
  EXPECT_THROW(attention(q, k, v, 1.0f, long_), core::Error);  // <= S
  EXPECT_THROW(attention(q, k, v, 1.0f, Tensor::from_vector(std::vector<float>{3, 3}, {2})), core::Error);  // dtype
}

}  // namespace
}  // namespace sieve::ops
