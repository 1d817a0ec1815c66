// matmul and linear: values vs naive double loops, gradients by finite differences, shape errors.
// Letters: N rows, K contracted, M output features, Bt batch.
#include "sieve/ops/linear.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "sieve/autograd/grad_mode.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

// c[bt] = a[bt] · b[bt or 0], in double.
std::vector<double> matmul_reference(const std::vector<float>& a, const std::vector<float>& b, std::int64_t Bt,
                                     std::int64_t N, std::int64_t K, std::int64_t M, bool shared_b) {
  std::vector<double> c(static_cast<std::size_t>(Bt * N * M), 0.0);
  for (std::int64_t bt = 0; bt < Bt; ++bt)
    for (std::int64_t i = 0; i < N; ++i)
      for (std::int64_t j = 0; j < M; ++j) {
        double acc = 0.0;
        for (std::int64_t p = 0; p < K; ++p)
          acc += double(a[(bt * N + i) * K + p]) * b[(shared_b ? 0 : bt) * K * M + p * M + j];
        c[(bt * N + i) * M + j] = acc;
      }
  return c;
}

void expect_close(const Tensor& got, const std::vector<double>& expected, double tol = 1e-4) {
  const auto v = got.to_vector();
  ASSERT_EQ(v.size(), expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_NEAR(v[i], expected[i], tol) << i;
}

TEST(Matmul, TwoDimensional) {
  const Tensor a = uniform_tensor({5, 7}, 1), b = uniform_tensor({7, 3}, 2);
  const Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (core::Shape{5, 3}));
  expect_close(c, matmul_reference(a.to_vector(), b.to_vector(), 1, 5, 7, 3, false));
}

TEST(Matmul, BatchedAndSharedB) {
  const Tensor a = uniform_tensor({2, 3, 4, 6}, 3);
  const Tensor b = uniform_tensor({2, 3, 6, 5}, 4);
  const Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (core::Shape{2, 3, 4, 5}));
  expect_close(c, matmul_reference(a.to_vector(), b.to_vector(), 6, 4, 6, 5, false));
  const Tensor b2 = uniform_tensor({6, 5}, 5);
  expect_close(matmul(a, b2), matmul_reference(a.to_vector(), b2.to_vector(), 6, 4, 6, 5, true));
}

TEST(Matmul, StridedOperands) {
  const Tensor a = uniform_tensor({2, 6, 4}, 6).transpose(1, 2);  // [2, 4, 6]
  const Tensor b = uniform_tensor({5, 6}, 7).transpose(0, 1);     // [6, 5]
  const auto expected = matmul_reference(a.contiguous().to_vector(), b.contiguous().to_vector(), 2, 4, 6, 5, true);
  expect_close(matmul(a, b), expected);
}

TEST(Matmul, GradientBatched) {
  const Tensor a = requires_grad(uniform_tensor({2, 3, 4}, 8));
  const Tensor b = requires_grad(uniform_tensor({2, 4, 5}, 9));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b}));
}

TEST(Matmul, GradientSharedB) {
  const Tensor a = requires_grad(uniform_tensor({3, 2, 4}, 10));
  const Tensor b = requires_grad(uniform_tensor({4, 3}, 11));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b}));
}

TEST(Matmul, GradientOneSide) {
  const Tensor a = uniform_tensor({3, 4}, 12);
  const Tensor b = requires_grad(uniform_tensor({4, 2}, 13));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return matmul(in[1], in[0]); },
                        {uniform_tensor({4, 3}, 14), requires_grad(uniform_tensor({2, 4}, 15))}));
}

TEST(Matmul, BadShapesAreErrors) {
  EXPECT_THROW(matmul(uniform_tensor({3, 4}, 1), uniform_tensor({5, 2}, 2)), core::Error);        // K
  EXPECT_THROW(matmul(uniform_tensor({2, 3, 4}, 1), uniform_tensor({3, 4, 2}, 2)), core::Error);  // batch
  EXPECT_THROW(matmul(uniform_tensor({4}, 1), uniform_tensor({4, 2}, 2)), core::Error);           // 1-D
  EXPECT_THROW(matmul(uniform_tensor({3, 4}, 1), uniform_tensor({2, 4, 2}, 2)), core::Error);     // b batched, a not
  try {
    matmul(uniform_tensor({3, 4}, 1), uniform_tensor({5, 2}, 2));
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("[3, 4]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[5, 2]"), std::string::npos) << e.what();
  }
}

// y = x · Wᵀ + bias for x [Nr, K], W [M, K].
std::vector<double> linear_reference(const std::vector<float>& x, const std::vector<float>& w,
                                     const std::vector<float>* bias, std::int64_t Nr, std::int64_t K,
                                     std::int64_t M) {
  std::vector<double> y(static_cast<std::size_t>(Nr * M));
  for (std::int64_t n = 0; n < Nr; ++n)
    for (std::int64_t m = 0; m < M; ++m) {
      double acc = bias ? (*bias)[m] : 0.0;
      for (std::int64_t k = 0; k < K; ++k) acc += double(x[n * K + k]) * w[m * K + k];
      y[n * M + m] = acc;
    }
  return y;
}

TEST(Linear, MatchesReferenceWithAndWithoutBias) {
  const Tensor x = uniform_tensor({2, 3, 9}, 16);
  const Tensor w = uniform_tensor({4, 9}, 17);
  const Tensor b = uniform_tensor({4}, 18);
  const auto bv = b.to_vector();
  const Tensor y = linear(x, w, b);
  EXPECT_EQ(y.shape(), (core::Shape{2, 3, 4}));
  expect_close(y, linear_reference(x.to_vector(), w.to_vector(), &bv, 6, 9, 4));
  expect_close(linear(x, w), linear_reference(x.to_vector(), w.to_vector(), nullptr, 6, 9, 4));
}

TEST(Linear, GradientAllInputs) {
  const Tensor x = requires_grad(uniform_tensor({2, 3, 5}, 19));
  const Tensor w = requires_grad(uniform_tensor({4, 5}, 20));
  const Tensor b = requires_grad(uniform_tensor({4}, 21));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b}));
}

TEST(Linear, GradientWithoutBias) {
  const Tensor x = requires_grad(uniform_tensor({3, 5}, 22));
  const Tensor w = requires_grad(uniform_tensor({2, 5}, 23));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }, {x, w}));
}

TEST(Linear, OnlyRequestedGradientsAreComputed) {
  // A frozen weight gets no gradient; x still gets one.
  Tensor x = requires_grad(uniform_tensor({3, 4}, 24));
  Tensor w = uniform_tensor({2, 4}, 25);
  Tensor b = requires_grad(uniform_tensor({2}, 26));
  autograd::backward(linear(x, w, b), Tensor::ones({3, 2}));
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{3.0f, 3.0f}));
}

TEST(Linear, BadShapesAreErrors) {
  const Tensor x = uniform_tensor({3, 4}, 27);
  EXPECT_THROW(linear(x, uniform_tensor({2, 5}, 28)), core::Error);
  EXPECT_THROW(linear(x, uniform_tensor({2, 4}, 28), uniform_tensor({3}, 29)), core::Error);
  EXPECT_THROW(linear(x, uniform_tensor({8}, 28)), core::Error);
}

}  // namespace
}  // namespace sieve::ops
