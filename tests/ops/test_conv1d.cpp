// causal_depthwise_conv1d: values vs a naive double loop, finite-difference gradients for x,
// weight and bias, causality, and shape errors. Letters: B batch, T tokens, C channels, K taps.
#include "sieve/ops/conv1d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "gradcheck.h"
#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

std::vector<double> conv_reference(const std::vector<float>& x, const std::vector<float>& w,
                                   const std::vector<float>* bias, std::int64_t B, std::int64_t T, std::int64_t C,
                                   std::int64_t K) {
  std::vector<double> out(static_cast<std::size_t>(B * T * C));
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t c = 0; c < C; ++c) {
        double sum = bias ? (*bias)[static_cast<std::size_t>(c)] : 0.0;
        for (std::int64_t k = 0; k < K; ++k) {
          const std::int64_t s = t - (K - 1) + k;
          if (s >= 0)
            sum += double(w[static_cast<std::size_t>(c * K + k)]) * x[static_cast<std::size_t>((b * T + s) * C + c)];
        }
        out[static_cast<std::size_t>((b * T + t) * C + c)] = sum;
      }
  return out;
}

void expect_close(const Tensor& got, const std::vector<double>& expected) {
  const auto v = got.to_vector();
  ASSERT_EQ(v.size(), expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_NEAR(v[i], expected[i], 1e-5 * (1 + std::abs(expected[i]))) << i;
}

TEST(CausalDepthwiseConv1d, MatchesReference) {
  for (std::int64_t K : {1, 3, 4, 9}) {
    const std::int64_t B = 2, T = 7, C = 37;  // K = 9 > T: every output sees padding
    const Tensor x = uniform_tensor({B, T, C}, 1);
    const Tensor w = uniform_tensor({C, K}, 2);
    const Tensor bias = uniform_tensor({C}, 3);
    const Tensor y = causal_depthwise_conv1d(x, w, bias);
    EXPECT_EQ(y.shape(), x.shape());
    const auto bv = bias.to_vector();
    expect_close(y, conv_reference(x.to_vector(), w.to_vector(), &bv, B, T, C, K));
    expect_close(causal_depthwise_conv1d(x, w, Tensor()),
                 conv_reference(x.to_vector(), w.to_vector(), nullptr, B, T, C, K));
  }
}

TEST(CausalDepthwiseConv1d, LongSequenceAcrossThreads) {
  const std::int64_t B = 3, T = 700, C = 24, K = 4;
  const Tensor x = uniform_tensor({B, T, C}, 4);
  const Tensor w = uniform_tensor({C, K}, 5);
  expect_close(causal_depthwise_conv1d(x, w, Tensor()),
               conv_reference(x.to_vector(), w.to_vector(), nullptr, B, T, C, K));
}

TEST(CausalDepthwiseConv1d, NonContiguousInput) {
  const Tensor base = uniform_tensor({2, 6, 5}, 6);
  const Tensor x = base.transpose(1, 2);  // [2, 5, 6], strided
  const Tensor w = uniform_tensor({6, 3}, 7);
  expect_close(causal_depthwise_conv1d(x, w, Tensor()),
               conv_reference(x.contiguous().to_vector(), w.to_vector(), nullptr, 2, 5, 6, 3));
}

TEST(CausalDepthwiseConv1d, GradientAllInputs) {
  const Tensor x = requires_grad(uniform_tensor({2, 6, 5}, 8));
  const Tensor w = requires_grad(uniform_tensor({5, 3}, 9));
  const Tensor bias = requires_grad(uniform_tensor({5}, 10));
  EXPECT_TRUE(gradcheck(
      [](const std::vector<Tensor>& in) { return causal_depthwise_conv1d(in[0], in[1], in[2]); }, {x, w, bias}));
}

TEST(CausalDepthwiseConv1d, GradientLongKernelAndLongSequence) {
  // K > T exercises the padding in every gradient; the long case spans several weight chunks.
  const Tensor x = requires_grad(uniform_tensor({1, 3, 4}, 11));
  const Tensor w = requires_grad(uniform_tensor({4, 5}, 12));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return causal_depthwise_conv1d(in[0], in[1], Tensor()); },
                        {x, w}));
  const Tensor xl = requires_grad(uniform_tensor({2, 300, 3}, 13));
  const Tensor wl = requires_grad(uniform_tensor({3, 4}, 14));
  const Tensor bl = requires_grad(uniform_tensor({3}, 15));
  testing::GradcheckOptions options;
  options.rtol = 2e-2;
  options.atol = 5e-3;  // sums over 600 rows in f32
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return causal_depthwise_conv1d(in[0], in[1], in[2]); },
                        {xl, wl, bl}, options));
}

TEST(CausalDepthwiseConv1d, GradientOnlyForWeight) {
  const Tensor x = uniform_tensor({2, 4, 3}, 16);
  const Tensor w = requires_grad(uniform_tensor({3, 2}, 17));
  const Tensor bias = uniform_tensor({3}, 18);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return causal_depthwise_conv1d(in[0], in[1], in[2]); },
                        {x, w, bias}));
}

TEST(CausalDepthwiseConv1d, GradientsSameForAnyThreadCount) {
  const auto grads = [] {
    const Tensor x = requires_grad(uniform_tensor({3, 900, 16}, 32));
    const Tensor w = requires_grad(uniform_tensor({16, 4}, 33));
    const Tensor bias = requires_grad(uniform_tensor({16}, 34));
    autograd::backward(causal_depthwise_conv1d(x, w, bias), uniform_tensor({3, 900, 16}, 35));
    return std::vector<std::vector<float>>{x.grad().to_vector(), w.grad().to_vector(), bias.grad().to_vector()};
  };
  const int threads = core::num_threads();
  core::set_num_threads(1);
  const auto serial = grads();
  core::set_num_threads(std::max(2, threads));
  const auto parallel = grads();
  core::set_num_threads(threads);
  EXPECT_EQ(serial, parallel);  // bitwise: the weight sums use a fixed split of the rows
}

TEST(CausalDepthwiseConv1d, IsCausal) {
  const std::int64_t B = 2, T = 12, C = 5, K = 4;
  const Tensor x = uniform_tensor({B, T, C}, 19);
  const Tensor w = uniform_tensor({C, K}, 20);
  const Tensor bias = uniform_tensor({C}, 21);
  const auto before = causal_depthwise_conv1d(x, w, bias).to_vector();
  for (std::int64_t t = 0; t < T; ++t) {
    Tensor changed = x.clone();
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t c = 0; c < C; ++c) changed.data<float>()[(b * T + t) * C + c] += 10.0f;
    const auto after = causal_depthwise_conv1d(changed, w, bias).to_vector();
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t u = 0; u < T; ++u)
        for (std::int64_t c = 0; c < C; ++c) {
          const auto i = static_cast<std::size_t>((b * T + u) * C + c);
          if (u < t || u >= t + K)
            ASSERT_EQ(after[i], before[i]) << "changing t " << t << " moved out at " << u;
          else
            ASSERT_NE(after[i], before[i]) << "changing t " << t << " did not reach out at " << u;
        }
  }
}

TEST(CausalDepthwiseConv1d, NoGraphUnderNoGrad) {
  const Tensor x = requires_grad(uniform_tensor({1, 4, 2}, 22));
  const Tensor w = requires_grad(uniform_tensor({2, 2}, 23));
  autograd::NoGradGuard no_grad;
  EXPECT_FALSE(causal_depthwise_conv1d(x, w, Tensor()).requires_grad());
}

TEST(CausalDepthwiseConv1d, RejectsBadShapes) {
  const Tensor x = uniform_tensor({2, 4, 3}, 24);
  EXPECT_THROW(causal_depthwise_conv1d(uniform_tensor({4, 3}, 25), uniform_tensor({3, 2}, 26), Tensor()),
               core::Error);
  EXPECT_THROW(causal_depthwise_conv1d(x, uniform_tensor({4, 2}, 27), Tensor()), core::Error);
  EXPECT_THROW(causal_depthwise_conv1d(x, uniform_tensor({3}, 28), Tensor()), core::Error);
  EXPECT_THROW(causal_depthwise_conv1d(x, Tensor::zeros({3, 0}), Tensor()), core::Error);
  EXPECT_THROW(causal_depthwise_conv1d(x, uniform_tensor({3, 2}, 29), uniform_tensor({2}, 30)), core::Error);
  EXPECT_THROW(causal_depthwise_conv1d(Tensor::zeros({2, 4, 3}, core::DType::bf16), uniform_tensor({3, 2}, 31),
                                       Tensor()),
               core::Error);
}

}  // namespace
}  // namespace sieve::ops
