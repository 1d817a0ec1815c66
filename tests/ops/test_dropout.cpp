// dropout: kept elements scaled by 1/(1−p), the rest zero; deterministic per seed; the gradient
// uses the forward's mask.
#include "sieve/ops/dropout.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

TEST(Dropout, KeepsAndScalesOrZeroes) {
  const float p = 0.3f;
  const Tensor x = uniform_tensor({64, 64}, 1, 0.5f, 1.5f);  // no zeros in the input
  const auto xv = x.to_vector(), yv = dropout(x, p, 42).to_vector();
  std::int64_t kept = 0;
  for (std::size_t i = 0; i < xv.size(); ++i) {
    if (yv[i] == 0.0f) continue;
    ++kept;
    ASSERT_NEAR(yv[i], xv[i] / (1.0f - p), 1e-6) << i;
  }
  // 4096 Bernoulli(0.7) draws: the kept fraction is 0.7 ± a few standard deviations (0.007).
  EXPECT_NEAR(static_cast<double>(kept) / xv.size(), 0.7, 0.04);
}

TEST(Dropout, SameSeedSameMaskDifferentSeedDifferentMask) {
  const Tensor x = uniform_tensor({1000}, 2, 0.5f, 1.5f);
  EXPECT_EQ(dropout(x, 0.5f, 7).to_vector(), dropout(x, 0.5f, 7).to_vector());
  EXPECT_NE(dropout(x, 0.5f, 7).to_vector(), dropout(x, 0.5f, 8).to_vector());
}

TEST(Dropout, ZeroProbabilityIsIdentity) {
  const Tensor x = uniform_tensor({3, 4}, 3);
  EXPECT_EQ(dropout(x, 0.0f, 1).to_vector(), x.to_vector());
}

TEST(Dropout, Gradient) {
  // The mask depends only on (seed, element index), so finite differences see the same mask.
  const Tensor x = requires_grad(uniform_tensor({6, 7}, 4));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return dropout(in[0], 0.4f, 123); }, {x}));
}

TEST(Dropout, GradientIsMaskedAndScaled) {
  Tensor x = requires_grad(uniform_tensor({200}, 5, 0.5f, 1.5f));
  const Tensor y = dropout(x, 0.25f, 9);
  const auto yv = y.to_vector();
  autograd::backward(y, Tensor::ones({200}));
  const auto g = x.grad().to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_FLOAT_EQ(g[i], yv[i] == 0.0f ? 0.0f : 1.0f / 0.75f) << i;
}

TEST(Dropout, BadProbabilityIsAnError) {
  const Tensor x = uniform_tensor({3}, 6);
  EXPECT_THROW(dropout(x, -0.1f, 1), core::Error);
  EXPECT_THROW(dropout(x, 1.5f, 1), core::Error);
}

}  // namespace
}  // namespace sieve::ops
