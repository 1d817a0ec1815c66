// silu, gelu, swiglu, softmax: values vs double references, gradients by finite differences.
#include "sieve/ops/activation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

void expect_pointwise(const Tensor& got, const Tensor& x, double (*f)(double), double tol = 1e-5) {
  const auto g = got.to_vector();
  const auto xv = x.to_vector();
  ASSERT_EQ(got.shape(), x.shape());
  for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], f(xv[i]), tol * (1 + std::abs(f(xv[i])))) << i;
}

TEST(Silu, MatchesReference) {
  const Tensor x = uniform_tensor({3, 41}, 1, -6.0f, 6.0f);
  expect_pointwise(silu(x), x, [](double v) { return v * sigmoid_ref(v); });
}

TEST(Silu, StridedInput) {
  const Tensor x = uniform_tensor({6, 5}, 2, -3.0f, 3.0f).transpose(0, 1);
  expect_pointwise(silu(x), x, [](double v) { return v * sigmoid_ref(v); });
}

TEST(Silu, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({4, 7}, 3, -3.0f, 3.0f));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return silu(in[0]); }, {x}));
}

TEST(Gelu, MatchesReference) {
  const Tensor x = uniform_tensor({2, 33}, 4, -5.0f, 5.0f);
  expect_pointwise(gelu(x), x, [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); });
}

TEST(Gelu, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({5, 6}, 5, -3.0f, 3.0f));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return gelu(in[0]); }, {x}));
}

TEST(Swiglu, MatchesReference) {
  const Tensor g = uniform_tensor({3, 17}, 6, -4.0f, 4.0f);
  const Tensor u = uniform_tensor({3, 17}, 7, -2.0f, 2.0f);
  const auto out = swiglu(g, u).to_vector();
  const auto gv = g.to_vector(), uv = u.to_vector();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double expected = gv[i] * sigmoid_ref(gv[i]) * uv[i];
    ASSERT_NEAR(out[i], expected, 1e-5 * (1 + std::abs(expected))) << i;
  }
}

TEST(Swiglu, Gradient) {
  const Tensor g = requires_grad(uniform_tensor({4, 6}, 8, -3.0f, 3.0f));
  const Tensor u = requires_grad(uniform_tensor({4, 6}, 9));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return swiglu(in[0], in[1]); }, {g, u}));
}

TEST(Swiglu, GradientOnlyForUp) {
  const Tensor g = uniform_tensor({3, 5}, 10, -3.0f, 3.0f);
  const Tensor u = requires_grad(uniform_tensor({3, 5}, 11));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return swiglu(in[0], in[1]); }, {g, u}));
}

TEST(Swiglu, ShapeMismatchIsAnError) {
  EXPECT_THROW(swiglu(uniform_tensor({2, 3}, 1), uniform_tensor({3, 2}, 2)), core::Error);
}

TEST(Softmax, MatchesReference) {
  const std::int64_t R = 6, C = 23;
  const Tensor x = uniform_tensor({2, 3, C}, 12, -8.0f, 8.0f);
  const auto y = softmax(x).to_vector();
  const auto xv = x.to_vector();
  for (std::int64_t r = 0; r < R; ++r) {
    double mx = -INFINITY, total = 0.0;
    for (std::int64_t c = 0; c < C; ++c) mx = std::max(mx, double(xv[r * C + c]));
    for (std::int64_t c = 0; c < C; ++c) total += std::exp(xv[r * C + c] - mx);
    for (std::int64_t c = 0; c < C; ++c)
      ASSERT_NEAR(y[r * C + c], std::exp(xv[r * C + c] - mx) / total, 1e-6) << r << "," << c;
  }
}

TEST(Softmax, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({3, 2, 8}, 13, -2.0f, 2.0f));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return softmax(in[0]); }, {x}));
}

TEST(Softmax, GradientThroughStridedInput) {
  const Tensor x = requires_grad(uniform_tensor({5, 4}, 14, -2.0f, 2.0f));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return softmax(transpose(in[0], 0, 1)); }, {x}));
}

TEST(Activation, IntegerInputIsAnError) {
  const Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{1, 2}, {2});
  EXPECT_THROW(silu(ids), core::Error);
  EXPECT_THROW(softmax(ids), core::Error);
}

}  // namespace
}  // namespace sieve::ops
