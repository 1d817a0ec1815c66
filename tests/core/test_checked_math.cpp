#include <gtest/gtest.h>

#include <limits>

#include "sieve/core/checked_math.h"
#include "sieve/core/tensor.h"

namespace sieve::core {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

TEST(CheckedMath, MulAndAddReportOverflow) {
  EXPECT_EQ(checked_mul<std::int64_t>(1 << 20, 1 << 20), std::int64_t{1} << 40);
  EXPECT_FALSE(checked_mul<std::int64_t>(std::int64_t{1} << 32, std::int64_t{1} << 31));
  EXPECT_FALSE(checked_mul<std::int64_t>(kMax, -2));
  EXPECT_EQ(checked_add<std::uint64_t>(1, 2), 3u);
  EXPECT_FALSE(checked_add<std::uint64_t>(~std::uint64_t{0}, 1));
}

TEST(CheckedMath, NumelAndBytes) {
  EXPECT_EQ(checked_numel(Shape{}), 1);
  EXPECT_EQ(checked_numel(Shape{2, 3, 4}), 24);
  EXPECT_EQ(checked_numel(Shape{0, kMax}), 0);
  EXPECT_FALSE(checked_numel(Shape{2, -1}));
  EXPECT_FALSE(checked_numel(Shape{std::int64_t{1} << 32, std::int64_t{1} << 31}));
  // An empty tensor still needs strides that fit.
  EXPECT_FALSE(checked_numel(Shape{0, std::int64_t{1} << 32, std::int64_t{1} << 32}));
  EXPECT_EQ(checked_nbytes(Shape{3, 5}, 4), 60);
  EXPECT_FALSE(checked_nbytes(Shape{std::int64_t{1} << 62}, 4));
  EXPECT_EQ(checked_nbytes(Shape{0, std::int64_t{1} << 62}, 8), 0);
}

// Sizes that overflow are a clear error before anything is allocated, never a wrapped size.
TEST(CheckedMath, TensorFactoriesRejectOverflowingShapes) {
  const Shape wraps_to_zero{std::int64_t{1} << 32, std::int64_t{1} << 32};  // 2^64 wraps to 0
  EXPECT_THROW(Tensor::empty(wraps_to_zero), Error);
  EXPECT_THROW(Tensor::zeros({std::int64_t{1} << 62}), Error);  // 2^64 bytes of f32
  EXPECT_THROW(Tensor::empty({0, std::int64_t{1} << 32, std::int64_t{1} << 32}), Error);
  EXPECT_THROW(Tensor::empty({-1}), Error);
  float value = 0.0f;
  EXPECT_THROW(Tensor::borrow(&value, wraps_to_zero, DType::f32, [] {}), Error);
  try {
    Tensor::empty(wraps_to_zero);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("overflows 64 bits"), std::string::npos) << e.what();
  }
  EXPECT_THROW(shape_numel(wraps_to_zero), Error);
  EXPECT_THROW(Tensor::zeros({4}).view({std::int64_t{1} << 32, std::int64_t{1} << 32, -1}), Error);
  const Tensor empty = Tensor::empty({0, std::int64_t{1} << 30, std::int64_t{1} << 30});
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_TRUE(empty.is_contiguous());
}

}  // namespace
}  // namespace sieve::core
