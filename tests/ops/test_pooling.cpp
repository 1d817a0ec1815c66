// masked_mean: values vs a double loop, padding neither counted nor given gradient, gradients by
// finite differences, the tensor form of the lengths, and errors. Letters: B batch, T tokens,
// C channels.
#include "sieve/ops/pooling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gradcheck.h"
#include "sieve/autograd/engine.h"
#include "sieve/core/error.h"

namespace sieve::ops {
namespace {

using testing::gradcheck;
using testing::requires_grad;
using testing::uniform_tensor;

TEST(MaskedMean, AveragesValidTokensOnly) {
  // C = 300 spans two channel blocks of the kernel.
  const std::int64_t B = 3, T = 6, C = 300;
  Tensor x = uniform_tensor({B, T, C}, 1);
  const std::vector<std::int64_t> lengths = {6, 2, 1};
  const auto xv = x.to_vector();
  std::vector<double> want(static_cast<std::size_t>(B * C), 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t c = 0; c < C; ++c) {
      for (std::int64_t t = 0; t < lengths[b]; ++t) want[b * C + c] += xv[(b * T + t) * C + c];
      want[b * C + c] /= double(lengths[b]);
    }
  // Padding may hold anything, NaN included.
  x.slice(0, 1, 2).slice(1, 2, T).fill(NAN);
  x.slice(0, 2, 3).slice(1, 1, T).fill(1e30);
  const Tensor out = masked_mean(x, lengths);
  ASSERT_EQ(out.shape(), (core::Shape{B, C}));
  const auto got = out.to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6) << i;
  // The int64 tensor form, and no lengths = every token.
  EXPECT_EQ(masked_mean(x, Tensor::from_vector(lengths, {B})).to_vector(), got);
  const Tensor full = uniform_tensor({2, 4, 3}, 2);
  const std::vector<std::int64_t> all = {4, 4};
  EXPECT_EQ(masked_mean(full).to_vector(), masked_mean(full, all).to_vector());
  EXPECT_EQ(masked_mean(full, Tensor()).to_vector(), masked_mean(full, all).to_vector());
}

TEST(MaskedMean, GradientSpreadsOverValidTokens) {
  const std::int64_t B = 2, T = 4, C = 3;
  const Tensor x = requires_grad(uniform_tensor({B, T, C}, 3));
  const std::vector<std::int64_t> lengths = {4, 3};
  const Tensor dout = uniform_tensor({B, C}, 4);
  autograd::backward(masked_mean(x, lengths), dout);
  const auto dx = x.grad().to_vector(), d = dout.to_vector();
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t c = 0; c < C; ++c) {
        const float want = t < lengths[b] ? d[b * C + c] / float(lengths[b]) : 0.0f;
        EXPECT_FLOAT_EQ(dx[(b * T + t) * C + c], want) << b << " " << t << " " << c;
      }
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return masked_mean(in[0], lengths); },
                        {requires_grad(uniform_tensor({B, T, C}, 5))}));
}

TEST(MaskedMean, BadInputsAreErrors) {
  const Tensor x = uniform_tensor({2, 3, 4}, 1);
  const std::vector<std::int64_t> one = {3}, zero = {3, 0}, long_ = {3, 4};
  EXPECT_THROW(masked_mean(uniform_tensor({3, 4}, 1)), core::Error);  // rank
  EXPECT_THROW(masked_mean(x, one), core::Error);                     // one per batch
  EXPECT_THROW(masked_mean(x, zero), core::Error);                    // >= 1
  EXPECT_THROW(masked_mean(x, long_), core::Error);                   // <= T
  EXPECT_THROW(masked_mean(x, Tensor::from_vector(std::vector<float>{3, 3}, {2})), core::Error);  // dtype
}

}  // namespace
}  // namespace sieve::ops
