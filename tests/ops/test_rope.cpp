// rope: values vs a naive rotate_half loop, gradients by finite differences.
// Letters: B batch, T tokens, H heads, D head dim.
#include "sieve/ops/rope.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

std::vector<double> rope_reference(const std::vector<float>& x, std::int64_t B, std::int64_t T, std::int64_t H,
                                   std::int64_t D, std::int64_t offset, double theta) {
  std::vector<double> y(x.size());
  const std::int64_t half = D / 2;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t base = ((b * T + t) * H + h) * D;
        for (std::int64_t i = 0; i < half; ++i) {
          const double angle = static_cast<double>(offset + t) * std::pow(theta, -2.0 * i / D);
          const double x1 = x[base + i], x2 = x[base + i + half];
          y[base + i] = x1 * std::cos(angle) - x2 * std::sin(angle);
          y[base + i + half] = x2 * std::cos(angle) + x1 * std::sin(angle);
        }
      }
  return y;
}

TEST(Rope, MatchesReference) {
  const std::int64_t B = 2, T = 5, H = 3, D = 8;
  const Tensor x = uniform_tensor({B, T, H, D}, 1);
  for (std::int64_t offset : {0, 7}) {
    const auto y = rope(x, offset, 10000.0f).to_vector();
    const auto expected = rope_reference(x.to_vector(), B, T, H, D, offset, 10000.0);
    for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-5) << "offset " << offset << ", " << i;
  }
}

TEST(Rope, StridedInput) {
  // [B, H, T, D] transposed to [B, T, H, D]: the layout attention code hands over.
  const Tensor base = uniform_tensor({1, 2, 4, 6}, 2);
  const Tensor x = base.transpose(1, 2);
  const auto expected = rope_reference(x.contiguous().to_vector(), 1, 4, 2, 6, 3, 500.0);
  const auto y = rope(x, 3, 500.0f).to_vector();
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-5) << i;
}

TEST(Rope, Gradient) {
  const Tensor x = requires_grad(uniform_tensor({2, 3, 2, 6}, 3));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return rope(in[0], 4, 100.0f); }, {x}));
}

TEST(Rope, BadShapesAreErrors) {
  EXPECT_THROW(rope(uniform_tensor({2, 3, 5}, 4), 0, 10000.0f), core::Error);     // not 4-D
  EXPECT_THROW(rope(uniform_tensor({1, 2, 3, 5}, 4), 0, 10000.0f), core::Error);  // odd D
  EXPECT_THROW(rope(uniform_tensor({1, 2, 3, 4}, 4), -1, 10000.0f), core::Error);
}

}  // namespace
}  // namespace sieve::ops
