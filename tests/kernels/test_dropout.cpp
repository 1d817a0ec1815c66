// Dropout: reproducible counter-based masks, keep rate, scaling, backward through the mask.
// Shape letter: n elements (dropout.h).
#include "sieve/kernels/cpu/dropout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "reference_checks.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;
using testing::random_floats;

std::vector<std::uint8_t> mask_for(std::int64_t n, float p, std::uint64_t seed) {
  const std::vector<float> x(static_cast<std::size_t>(n), 1.0f);
  std::vector<float> y(x.size());
  std::vector<std::uint8_t> mask(x.size());
  dropout_forward(DType::f32, n, p, seed, x.data(), y.data(), mask.data());
  return mask;
}

TEST(Dropout, ForwardKeepsAndScales) {
  const std::int64_t n = 1003;
  const float p = 0.3f;
  const auto x = random_floats(n, 1);
  std::vector<float> y(x.size());
  std::vector<std::uint8_t> mask(x.size(), 7);
  dropout_forward(DType::f32, n, p, 42, x.data(), y.data(), mask.data());
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(mask[i] == 0 || mask[i] == 1) << i;
    EXPECT_EQ(y[i], mask[i] != 0 ? x[i] * (1.0f / (1.0f - p)) : 0.0f) << i;
  }
}

TEST(Dropout, MaskIsReproducibleAndDependsOnlyOnSeedAndIndex) {
  const auto a = mask_for(5000, 0.5f, 123);
  EXPECT_EQ(a, mask_for(5000, 0.5f, 123));
  // Element i's flag does not depend on n (so not on how work is split either).
  const auto prefix = mask_for(1001, 0.5f, 123);
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), a.begin()));
  // A different seed gives a different mask (about half the flags differ).
  const auto b = mask_for(5000, 0.5f, 124);
  std::int64_t differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
  EXPECT_GT(differ, 2000);
  EXPECT_LT(differ, 3000);
}

TEST(Dropout, MaskIndependentOfThreadCount) {
  const int threads = core::num_threads();
  std::vector<std::vector<std::uint8_t>> masks;
  for (int t : {1, 2, 3}) {
    core::set_num_threads(t);
    masks.push_back(mask_for(100003, 0.25f, 9));
  }
  core::set_num_threads(threads);
  EXPECT_EQ(masks[0], masks[1]);
  EXPECT_EQ(masks[0], masks[2]);
}

TEST(Dropout, KeepRateIsOneMinusP) {
  const std::int64_t n = 200000;
  for (float p : {0.1f, 0.5f, 0.9f}) {
    const auto mask = mask_for(n, p, 2024);
    std::int64_t kept = 0;
    for (auto m : mask) kept += m;
    const double rate = static_cast<double>(kept) / static_cast<double>(n);
    const double sigma = std::sqrt(p * (1.0 - p) / static_cast<double>(n));
    EXPECT_NEAR(rate, 1.0 - p, 5.0 * sigma) << "p=" << p;
  }
}

// Known-answer check of the generator: Philox4x32-10 with key 0 and counter 0 gives the words
// 0x6627e8d5 0xe169c58d 0xbc57ac4c 0x9b00dbd8 (Random123's published test vector), which seed 0
// assigns to elements 0..3; u = (word >> 8) / 2^24 and an element is kept iff u >= p.
TEST(Dropout, PhiloxKnownAnswer) {
  const std::uint32_t words[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  for (int lane = 0; lane < 4; ++lane) {
    const float u = static_cast<float>(words[lane] >> 8) * 0x1p-24f;
    EXPECT_EQ(mask_for(4, u, 0)[lane], 1) << "lane " << lane << " at p = u";
    EXPECT_EQ(mask_for(4, std::nextafter(u, 1.0f), 0)[lane], 0) << "lane " << lane << " just above u";
  }
}

TEST(Dropout, BackwardUsesTheMask) {
  const std::int64_t n = 517;
  const float p = 0.4f;
  const auto x = random_floats(n, 2);
  const auto dy = random_floats(n, 3);
  std::vector<float> y(x.size()), dx(x.size());
  std::vector<std::uint8_t> mask(x.size());
  dropout_forward(DType::f32, n, p, 77, x.data(), y.data(), mask.data());
  dropout_backward(DType::f32, n, p, mask.data(), dy.data(), dx.data());
  for (std::int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(dx[i], mask[i] != 0 ? dy[i] * (1.0f / (1.0f - p)) : 0.0f) << i;
  }
  // In place over dy.
  auto dy_copy = dy;
  dropout_backward(DType::f32, n, p, mask.data(), dy_copy.data(), dy_copy.data());
  EXPECT_EQ(dy_copy, dx);
}

TEST(Dropout, ZeroAndOneProbabilities) {
  const std::int64_t n = 100;
  const auto x = random_floats(n, 4);
  std::vector<float> y(x.size());
  std::vector<std::uint8_t> mask(x.size());
  dropout_forward(DType::f32, n, 0.0f, 5, x.data(), y.data(), mask.data());
  EXPECT_EQ(y, x);
  EXPECT_EQ(mask, std::vector<std::uint8_t>(n, 1));
  dropout_forward(DType::f32, n, 1.0f, 5, x.data(), y.data(), mask.data());
  EXPECT_EQ(y, std::vector<float>(n, 0.0f));
  EXPECT_EQ(mask, std::vector<std::uint8_t>(n, 0));
}

TEST(Dropout, BadArgumentsAreErrors) {
  std::vector<float> x(4, 1.0f), y(4);
  std::vector<std::uint8_t> mask(4);
  EXPECT_THROW(dropout_forward(DType::f32, 4, 1.5f, 0, x.data(), y.data(), mask.data()), core::Error);
  EXPECT_THROW(dropout_forward(DType::f32, 4, -0.1f, 0, x.data(), y.data(), mask.data()), core::Error);
  EXPECT_THROW(dropout_forward(DType::f32, 4, NAN, 0, x.data(), y.data(), mask.data()), core::Error);
  try {
    dropout_backward(DType::f16, 4, 0.5f, mask.data(), x.data(), y.data());
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("f16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sieve::kernels::cpu
