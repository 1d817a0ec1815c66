// The INT8 and INT4 weight formats on one Linear: close to the f32 product within the error
// their quantization allows, bias and odd K handled, sizes and descriptions, and a product that
// would need a gradient refused.
// Letters: N tokens, K in features, M out features.
#include "sieve/compress/quantized_linear.h"

#include <gtest/gtest.h>

#include "quantized_test_models.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

using testing::relative_error;

struct Case {
  std::int64_t M, K;
};

// A Linear [M, K] with a bias and an input [2, 5, K].
struct LinearCase {
  LinearCase(std::int64_t M, std::int64_t K) : rng(3), linear(K, M, true, 0.05, rng) {
    Tensor(linear.bias()).fill(0.25);
    core::Rng x_rng(4);
    x = nn::normal_tensor({2, 5, K}, 1.0, x_rng);
    autograd::NoGradGuard no_grad;
    reference = linear.forward(x);
  }
  core::Rng rng;
  nn::Linear linear;
  Tensor x, reference;
};

TEST(QuantizedLinear, Int8StaysWithinItsQuantizationError) {
  for (const Case c : {Case{96, 80}, Case{33, 7}, Case{1, 128}}) {
    LinearCase lc(c.M, c.K);
    lc.linear.set_weight_format(Int8LinearFormat::from_weight(lc.linear.weight(), {}), true);
    autograd::NoGradGuard no_grad;
    const Tensor y = lc.linear.forward(lc.x);
    EXPECT_EQ(y.shape(), lc.reference.shape());
    // Weights and activations each round to 1/254 of their range: about 1% at most.
    EXPECT_LT(relative_error(y, lc.reference), 0.01) << c.M << "x" << c.K;
  }
}

TEST(QuantizedLinear, Int8WithAStaticScaleMatchesDynamicWhenTheScaleFits) {
  LinearCase lc(64, 96);
  float max_abs = 0.0f;
  for (float v : lc.x.to_vector()) max_abs = std::max(max_abs, std::abs(v));
  const auto format = Int8LinearFormat::from_weight(lc.linear.weight(), {.dynamic = false, .static_scale = max_abs / 127});
  lc.linear.set_weight_format(format, true);
  autograd::NoGradGuard no_grad;
  EXPECT_LT(relative_error(lc.linear.forward(lc.x), lc.reference), 0.02);
  EXPECT_EQ(format->describe(), "int8 static");
  EXPECT_EQ(format->weight_bytes(), 64 * 96 + 4 * 64 + 4);
}

TEST(QuantizedLinear, Int4StaysWithinItsQuantizationErrorForEveryGroupSize) {
  for (const std::int64_t G : {32, 64, 96, 128}) {
    for (const Case c : {Case{96, 80}, Case{17, 33}, Case{40, 256}}) {  // K = 80, 33: a short last group
      LinearCase lc(c.M, c.K);
      lc.linear.set_weight_format(Int4LinearFormat::from_weight(lc.linear.weight(), G, core::DType::f16), true);
      autograd::NoGradGuard no_grad;
      // 15 levels over a group's range: about 10% relative error on Gaussian weights.
    EXPECT_LT(relative_error(lc.linear.forward(lc.x), lc.reference), 0.15) << c.M << "x" << c.K << " G " << G;
    }
  }
}

TEST(QuantizedLinear, Int4ScalesStoredAsF16AreF16Values) {
  LinearCase lc(24, 100);
  const auto format = Int4LinearFormat::from_weight(lc.linear.weight(), 64, core::DType::f16);
  for (float s : format->scales().to_vector()) EXPECT_EQ(core::f16_bits_to_f32(core::f32_to_f16_bits(s)), s);
  EXPECT_EQ(format->scales().shape(), (core::Shape{24, 2}));
  EXPECT_EQ(format->packed().shape(), (core::Shape{24, 50}));
  EXPECT_EQ(format->weight_bytes(), 24 * 50 + 24 * 2 * 2);
  EXPECT_EQ(format->describe(), "int4 g64");
  const auto f32 = Int4LinearFormat::from_weight(lc.linear.weight(), 64, core::DType::f32);
  EXPECT_EQ(f32->weight_bytes(), 24 * 50 + 24 * 2 * 4);
}

TEST(QuantizedLinear, TheF32WeightIsReleased) {
  LinearCase lc(8, 32);
  lc.linear.set_weight_format(Int8LinearFormat::from_weight(lc.linear.weight(), {}), true);
  EXPECT_FALSE(lc.linear.weight().defined());
  for (const auto& [name, tensor] : lc.linear.named_parameters()) EXPECT_NE(name, "weight");
}

TEST(QuantizedLinear, AProductThatNeedsAGradientIsAUserError) {
  LinearCase lc(8, 32);
  lc.linear.set_weight_format(Int4LinearFormat::from_weight(lc.linear.weight(), 32, core::DType::f16), true);
  Tensor x = lc.x.clone();
  x.set_requires_grad(true);
  try {
    lc.linear.forward(x);
    FAIL() << "expected a UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("inference-only"), std::string::npos) << e.what();
  }
  autograd::NoGradGuard no_grad;  // the same input runs without a graph
  EXPECT_EQ(lc.linear.forward(x).shape(), lc.reference.shape());
}

TEST(QuantizedLinear, GroupSizesAreMultiplesOf32UpTo128) {
  for (std::int64_t G : {32, 64, 96, 128}) EXPECT_TRUE(is_valid_int4_group_size(G)) << G;
  for (std::int64_t G : {0, 16, 48, 100, 160, 256, -32}) EXPECT_FALSE(is_valid_int4_group_size(G)) << G;
}

}  // namespace
}  // namespace sieve::compress
