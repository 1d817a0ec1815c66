// fake_quantize: each group's values become scale · clamp(round(x / scale), ±qmax) with scale =
// max |x| / qmax; the straight-through gradient passes dy unchanged.
#include "sieve/ops/fake_quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "gradcheck.h"
#include "sieve/ops/linear.h"

namespace sieve::ops {
namespace {

using testing::requires_grad;
using testing::uniform_tensor;

// The documented formula in double, one group at a time.
std::vector<float> reference(const std::vector<float>& x, std::int64_t cols, std::int64_t group, int qmax) {
  std::vector<float> y(x.size());
  for (std::size_t r = 0; r < x.size() / cols; ++r) {
    for (std::int64_t g0 = 0; g0 < cols; g0 += group) {
      const std::int64_t g1 = std::min(cols, g0 + group);
      double peak = 0.0;
      for (std::int64_t c = g0; c < g1; ++c) peak = std::max(peak, std::fabs(static_cast<double>(x[r * cols + c])));
      const float scale = peak > 0.0 ? static_cast<float>(peak) / static_cast<float>(qmax) : 1.0f;
      for (std::int64_t c = g0; c < g1; ++c) {
        const double q = std::clamp(std::round(x[r * cols + c] / static_cast<double>(scale)), -double(qmax), double(qmax));
        y[r * cols + c] = static_cast<float>(scale * q);
      }
    }
  }
  return y;
}

TEST(FakeQuantize, Int8PerRowMatchesTheFormula) {
  const Tensor x = uniform_tensor({5, 37}, 1);
  const auto got = fake_quantize(x, 0, 127).to_vector();
  const auto want = reference(x.to_vector(), 37, 37, 127);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6f) << i;
}

TEST(FakeQuantize, Int4GroupsWithAShortLastGroup) {
  const Tensor x = uniform_tensor({3, 100}, 2);  // groups of 32: 32, 32, 32, 4
  const auto got = fake_quantize(x, 32, 7).to_vector();
  const auto want = reference(x.to_vector(), 100, 32, 7);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6f) << i;
}

TEST(FakeQuantize, ValuesTakeAtMostTwoQmaxPlusOneLevelsPerGroupAndKeepTheirPeak) {
  const Tensor x = uniform_tensor({4, 64}, 3);
  const auto xv = x.to_vector(), yv = fake_quantize(x, 0, 7).to_vector();
  for (std::int64_t r = 0; r < 4; ++r) {
    float peak = 0.0f;
    std::vector<float> levels;
    for (std::int64_t c = 0; c < 64; ++c) {
      peak = std::max(peak, std::fabs(xv[r * 64 + c]));
      levels.push_back(yv[r * 64 + c]);
    }
    std::sort(levels.begin(), levels.end());
    levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
    EXPECT_LE(levels.size(), 15u);
    EXPECT_FLOAT_EQ(std::max(std::fabs(levels.front()), std::fabs(levels.back())), peak);  // ±7·scale = ±peak
  }
}

TEST(FakeQuantize, ErrorIsAtMostHalfAStep) {
  const Tensor x = uniform_tensor({8, 128}, 4);
  const auto xv = x.to_vector(), yv = fake_quantize(x, 64, 7).to_vector();
  for (std::int64_t r = 0; r < 8; ++r) {
    for (std::int64_t g = 0; g < 2; ++g) {
      float peak = 0.0f;
      for (std::int64_t c = 0; c < 64; ++c) peak = std::max(peak, std::fabs(xv[r * 128 + g * 64 + c]));
      for (std::int64_t c = 0; c < 64; ++c) {
        const std::size_t i = r * 128 + g * 64 + c;
        EXPECT_LE(std::fabs(yv[i] - xv[i]), 0.5f * peak / 7.0f * (1.0f + 1e-5f)) << i;
      }
    }
  }
}

TEST(FakeQuantize, AllZeroGroupStaysZeroAndRepresentableValuesAreKept) {
  const Tensor zeros = Tensor::zeros({2, 8});
  EXPECT_EQ(fake_quantize(zeros, 0, 127).to_vector(), zeros.to_vector());
  // Multiples of the step (peak 7 → scale 1) are fixed points.
  const Tensor levels = Tensor::from_vector(std::vector<float>{-7, -3, 0, 1, 2, 5, 6, 7}, {1, 8});
  EXPECT_EQ(fake_quantize(levels, 0, 7).to_vector(), levels.to_vector());
}

TEST(FakeQuantize, HalfwayValuesRoundAwayFromZero) {
  // peak 7 → scale 1: 2.5 → 3 and −2.5 → −3 (not to even).
  const Tensor x = Tensor::from_vector(std::vector<float>{2.5f, -2.5f, 7.0f, 0.5f}, {1, 4});
  EXPECT_EQ(fake_quantize(x, 0, 7).to_vector(), (std::vector<float>{3.0f, -3.0f, 7.0f, 1.0f}));
}

TEST(FakeQuantize, StraightThroughGradientIsTheIdentity) {
  Tensor x = requires_grad(uniform_tensor({3, 40}, 5));
  const Tensor dy = uniform_tensor({3, 40}, 6);
  autograd::backward(fake_quantize(x, 16, 7), dy);
  EXPECT_EQ(x.grad().to_vector(), dy.to_vector());
}

TEST(FakeQuantize, LinearOnAFakeQuantizedWeightGetsTheGradientOfTheQuantizedProduct) {
  // The weight's gradient is dL/dŴ (the estimator), the input's is that of x·Ŵᵀ exactly.
  Tensor w = requires_grad(uniform_tensor({6, 64}, 7));
  Tensor x = requires_grad(uniform_tensor({4, 64}, 8));
  const Tensor dy = uniform_tensor({4, 6}, 9);
  autograd::backward(linear(x, fake_quantize(w, 32, 7)), dy);

  Tensor w_hat = requires_grad(fake_quantize(w.detach(), 32, 7));
  Tensor x2 = requires_grad(x.detach());
  autograd::backward(linear(x2, w_hat), dy);
  EXPECT_EQ(w.grad().to_vector(), w_hat.grad().to_vector());
  EXPECT_EQ(x.grad().to_vector(), x2.grad().to_vector());
}

TEST(FakeQuantize, GradientForTheInputOfAFakeQuantizedWeightProductByFiniteDifferences) {
  const Tensor w = fake_quantize(uniform_tensor({5, 48}, 10), 16, 7);
  const Tensor x = requires_grad(uniform_tensor({3, 48}, 11));
  EXPECT_TRUE(testing::gradcheck([w](const std::vector<Tensor>& in) { return linear(in[0], w); }, {x}));
}

TEST(FakeQuantize, BadArgumentsAreErrors) {
  const Tensor x = uniform_tensor({2, 4}, 12);
  EXPECT_THROW(fake_quantize(x, -1, 7), core::Error);
  EXPECT_THROW(fake_quantize(x, 0, 0), core::Error);
  EXPECT_THROW(fake_quantize(Tensor::zeros({2, 0}), 0, 7), core::Error);
}

}  // namespace
}  // namespace sieve::ops
