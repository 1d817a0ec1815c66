// rms_norm and layer_norm: values vs naive double loops, gradients by finite differences.
// Letters: R rows, C channels.
#include "sieve/ops/norm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "sieve/autograd/grad_mode.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

std::vector<double> rms_reference(const std::vector<float>& x, const std::vector<float>& w, std::int64_t R,
                                  std::int64_t C, double eps) {
  std::vector<double> y(x.size());
  for (std::int64_t r = 0; r < R; ++r) {
    double ms = 0.0;
    for (std::int64_t c = 0; c < C; ++c) ms += double(x[r * C + c]) * x[r * C + c];
    const double rstd = 1.0 / std::sqrt(ms / C + eps);
    for (std::int64_t c = 0; c < C; ++c) y[r * C + c] = x[r * C + c] * rstd * w[c];
  }
  return y;
}

std::vector<double> layer_reference(const std::vector<float>& x, const std::vector<float>& w,
                                    const std::vector<float>* b, std::int64_t R, std::int64_t C, double eps) {
  std::vector<double> y(x.size());
  for (std::int64_t r = 0; r < R; ++r) {
    double mean = 0.0, var = 0.0;
    for (std::int64_t c = 0; c < C; ++c) mean += x[r * C + c];
    mean /= C;
    for (std::int64_t c = 0; c < C; ++c) var += (x[r * C + c] - mean) * (x[r * C + c] - mean);
    const double rstd = 1.0 / std::sqrt(var / C + eps);
    for (std::int64_t c = 0; c < C; ++c)
      y[r * C + c] = (x[r * C + c] - mean) * rstd * w[c] + (b ? (*b)[c] : 0.0);
  }
  return y;
}

void expect_close(const Tensor& got, const std::vector<double>& expected, double tol) {
  const auto v = got.to_vector();
  ASSERT_EQ(v.size(), expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_NEAR(v[i], expected[i], tol * (1 + std::abs(expected[i]))) << i;
}

TEST(RmsNorm, MatchesReference) {
  const Tensor x = uniform_tensor({2, 3, 37}, 1, -2.0f, 2.0f);
  const Tensor w = uniform_tensor({37}, 2, 0.5f, 1.5f);
  const Tensor y = rms_norm(x, w, 1e-5f);
  EXPECT_EQ(y.shape(), x.shape());
  expect_close(y, rms_reference(x.to_vector(), w.to_vector(), 6, 37, 1e-5), 1e-5);
}

TEST(RmsNorm, NonContiguousInput) {
  const Tensor base = uniform_tensor({8, 5}, 3);
  const Tensor x = base.transpose(0, 1);  // [5, 8], strided
  const Tensor w = uniform_tensor({8}, 4);
  expect_close(rms_norm(x, w, 1e-6f), rms_reference(x.contiguous().to_vector(), w.to_vector(), 5, 8, 1e-6), 1e-5);
}

TEST(RmsNorm, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({3, 2, 9}, 5));
  const Tensor w = requires_grad(uniform_tensor({9}, 6, 0.5f, 1.5f));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return rms_norm(in[0], in[1], 1e-5f); }, {x, w}));
}

TEST(RmsNorm, GradientOnlyForWeight) {
  const Tensor x = uniform_tensor({4, 6}, 7);
  const Tensor w = requires_grad(uniform_tensor({6}, 8));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return rms_norm(in[0], in[1], 1e-5f); }, {x, w}));
}

TEST(RmsNorm, NoGraphUnderNoGrad) {
  const Tensor x = requires_grad(uniform_tensor({2, 4}, 9));
  const Tensor w = requires_grad(uniform_tensor({4}, 10));
  autograd::NoGradGuard guard;
  EXPECT_EQ(rms_norm(x, w, 1e-5f).grad_fn(), nullptr);
}

TEST(RmsNorm, BadShapesAreErrors) {
  const Tensor x = uniform_tensor({2, 4}, 11);
  EXPECT_THROW(rms_norm(x, uniform_tensor({5}, 12), 1e-5f), core::Error);
  EXPECT_THROW(rms_norm(x, uniform_tensor({2, 4}, 12), 1e-5f), core::Error);
  try {
    rms_norm(x, uniform_tensor({5}, 12), 1e-5f);
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 4]"), std::string::npos) << e.what();
  }
}

TEST(LayerNorm, MatchesReferenceWithAndWithoutBias) {
  const Tensor x = uniform_tensor({5, 19}, 13, -3.0f, 3.0f);
  const Tensor w = uniform_tensor({19}, 14, 0.5f, 1.5f);
  const Tensor b = uniform_tensor({19}, 15);
  const auto bv = b.to_vector();
  expect_close(layer_norm(x, w, b, 1e-5f), layer_reference(x.to_vector(), w.to_vector(), &bv, 5, 19, 1e-5), 1e-5);
  expect_close(layer_norm(x, w, Tensor(), 1e-5f), layer_reference(x.to_vector(), w.to_vector(), nullptr, 5, 19, 1e-5),
               1e-5);
}

TEST(LayerNorm, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({2, 3, 7}, 16));
  const Tensor w = requires_grad(uniform_tensor({7}, 17, 0.5f, 1.5f));
  const Tensor b = requires_grad(uniform_tensor({7}, 18));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2], 1e-5f); },
                        {x, w, b}));
}

TEST(LayerNorm, GradientWithoutBias) {
  const Tensor x = requires_grad(uniform_tensor({4, 5}, 19));
  const Tensor w = requires_grad(uniform_tensor({5}, 20, 0.5f, 1.5f));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], Tensor(), 1e-5f); },
                        {x, w}));
}

TEST(LayerNorm, BadShapesAreErrors) {
  const Tensor x = uniform_tensor({2, 4}, 21);
  EXPECT_THROW(layer_norm(x, uniform_tensor({4}, 22), uniform_tensor({3}, 23), 1e-5f), core::Error);
  EXPECT_THROW(layer_norm(x, uniform_tensor({3}, 22), Tensor(), 1e-5f), core::Error);
}

}  // namespace
}  // namespace sieve::ops
