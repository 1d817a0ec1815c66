// convert() vs the scalar definitions in core/dtype.h and hand-checked edge cases. Lengths are
// odd so the vector loops' tails run; run with SIEVE_ISA=scalar to cover the portable loops.
#include "sieve/kernels/cpu/convert.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "sieve/core/dtype.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Special values plus random bit patterns (covering subnormals, NaN payloads, huge values).
std::vector<float> interesting_floats(std::size_t random_count) {
  std::vector<float> values = {0.0f, -0.0f, 1.0f, -1.0f, kInf, -kInf, kNaN, -kNaN,
                               std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(),
                               std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
                               std::bit_cast<float>(0x7f800001u),  // signalling NaN
                               std::bit_cast<float>(0x3f808000u),  // bf16 tie, even below
                               std::bit_cast<float>(0x3f818000u),  // bf16 tie, odd below
                               std::bit_cast<float>(0x7f7f8000u),  // bf16 tie that rounds to inf
                               65504.0f, 65520.0f, 65519.0f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-14f};
  std::mt19937 rng(7);
  for (std::size_t i = 0; i < random_count; ++i) values.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
  std::uniform_real_distribution<float> moderate(-70000.0f, 70000.0f);
  for (std::size_t i = 0; i < random_count; ++i) values.push_back(moderate(rng));
  return values;
}

bool is_bf16_nan(std::uint16_t bits) { return (bits & 0x7f80) == 0x7f80 && (bits & 0x7f) != 0; }
bool is_f16_nan(std::uint16_t bits) { return (bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0; }

TEST(Convert, F32ToBf16MatchesScalarBitForBit) {
  const auto in = interesting_floats(5000);
  std::vector<std::uint16_t> out(in.size());
  convert(DType::f32, DType::bf16, static_cast<std::int64_t>(in.size()), in.data(), out.data());
  for (std::size_t i = 0; i < in.size(); ++i)
    ASSERT_EQ(out[i], core::f32_to_bf16_bits(in[i])) << "input bits " << std::bit_cast<std::uint32_t>(in[i]);
  // Hand-checked rounding: ties go to even, the overflowing tie goes to inf, NaN stays NaN.
  EXPECT_EQ(core::f32_to_bf16_bits(std::bit_cast<float>(0x3f808000u)), 0x3f80);
  EXPECT_EQ(core::f32_to_bf16_bits(std::bit_cast<float>(0x3f818000u)), 0x3f82);
  EXPECT_EQ(core::f32_to_bf16_bits(std::bit_cast<float>(0x7f7f8000u)), 0x7f80);
  EXPECT_TRUE(is_bf16_nan(out[6]));
  EXPECT_TRUE(is_bf16_nan(out[12]));  // the signalling NaN must not turn into inf
  EXPECT_EQ(out[11], 0x0000);  // denorm_min: 2^-149 rounds to +0 in bf16
  EXPECT_EQ(out[10], 0x0080);  // FLT_MIN is exact
}

TEST(Convert, F32ToF16MatchesIeee) {
  const auto in = interesting_floats(5000);
  std::vector<std::uint16_t> out(in.size());
  convert(DType::f32, DType::f16, static_cast<std::int64_t>(in.size()), in.data(), out.data());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (std::isnan(in[i]))
      ASSERT_TRUE(is_f16_nan(out[i])) << i;
    else
      ASSERT_EQ(out[i], core::f32_to_f16_bits(in[i])) << "input " << in[i];
  }
  auto one = [](float v) {
    std::uint16_t bits = 0;
    convert(DType::f32, DType::f16, 1, &v, &bits);
    return bits;
  };
  EXPECT_EQ(one(65504.0f), 0x7bff);    // largest finite
  EXPECT_EQ(one(65519.0f), 0x7bff);    // below the halfway point to 2^16
  EXPECT_EQ(one(65520.0f), 0x7c00);    // tie rounds to even, which is inf
  EXPECT_EQ(one(0x1p-24f), 0x0001);    // smallest subnormal
  EXPECT_EQ(one(0x1p-25f), 0x0000);    // tie between 0 and 2^-24: even is 0
  EXPECT_EQ(one(0x1.8p-25f), 0x0001);  // above the tie
  EXPECT_EQ(one(-kInf), 0xfc00);
}

TEST(Convert, SixteenBitFormatsToF32AreExactForAllPatterns) {
  std::vector<std::uint16_t> all(65536);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i);
  std::vector<float> out(all.size());
  convert(DType::bf16, DType::f32, 65536, all.data(), out.data());
  for (std::size_t i = 0; i < all.size(); ++i)
    ASSERT_EQ(std::bit_cast<std::uint32_t>(out[i]), static_cast<std::uint32_t>(i) << 16) << i;
  convert(DType::f16, DType::f32, 65536, all.data(), out.data());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (is_f16_nan(all[i]))
      ASSERT_TRUE(std::isnan(out[i])) << i;
    else
      ASSERT_EQ(out[i], core::f16_bits_to_f32(all[i])) << i;
  }
  EXPECT_EQ(out[0x0001], 0x1p-24f);
  EXPECT_EQ(out[0x3c00], 1.0f);
  EXPECT_EQ(out[0xfc00], -kInf);
}

TEST(Convert, Bf16AndF16ConvertThroughExactF32) {
  std::vector<std::uint16_t> all(65536 + 3);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i);
  std::vector<std::uint16_t> out(all.size());
  convert(DType::bf16, DType::f16, static_cast<std::int64_t>(all.size()), all.data(), out.data());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (is_bf16_nan(all[i]))
      ASSERT_TRUE(is_f16_nan(out[i])) << i;
    else
      ASSERT_EQ(out[i], core::f32_to_f16_bits(core::bf16_bits_to_f32(all[i]))) << i;
  }
  convert(DType::f16, DType::bf16, static_cast<std::int64_t>(all.size()), all.data(), out.data());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (is_f16_nan(all[i]))
      ASSERT_TRUE(is_bf16_nan(out[i])) << i;
    else
      ASSERT_EQ(out[i], core::f32_to_bf16_bits(core::f16_bits_to_f32(all[i]))) << i;
  }
}

template <typename Int>
std::vector<Int> to_int(DType dtype, const std::vector<float>& in) {
  std::vector<Int> out(in.size());
  convert(DType::f32, dtype, static_cast<std::int64_t>(in.size()), in.data(), out.data());
  return out;
}

TEST(Convert, F32ToInt8RoundsHalfEvenAndSaturates) {
  const std::vector<float> in = {2.5f, 3.5f, -2.5f, -0.5f, 0.49999997f, 127.4f, 127.5f, 200.0f, -128.5f,
                                 -129.0f, kNaN, kInf, -kInf, 1e30f, -1e30f, -7.0f, 64.5f};
  const std::vector<std::int8_t> expected = {2, 4, -2, 0, 0, 127, 127, 127, -128, -128, 0, 127, -128, 127, -128, -7, 64};
  EXPECT_EQ(to_int<std::int8_t>(DType::i8, in), expected);
}

TEST(Convert, F32ToUint8RoundsHalfEvenAndSaturates) {
  const std::vector<float> in = {-1.0f, -0.5f, 0.5f, 1.5f, 254.5f, 255.5f, 300.0f, kNaN, kInf, -kInf, 17.0f};
  const std::vector<std::uint8_t> expected = {0, 0, 0, 2, 254, 255, 255, 0, 255, 0, 17};
  EXPECT_EQ(to_int<std::uint8_t>(DType::u8, in), expected);
}

TEST(Convert, F32ToInt32AndInt64Saturate) {
  constexpr auto i32_max = std::numeric_limits<std::int32_t>::max();
  constexpr auto i32_min = std::numeric_limits<std::int32_t>::min();
  const std::vector<float> in32 = {0.5f, 1.5f, -1.5f, 2147483520.0f, 0x1p31f, 3e9f, -3e9f, -0x1p31f, kNaN, kInf, -kInf,
                                   16777217.0f};
  const std::vector<std::int32_t> expected32 = {0, 2, -2, 2147483520, i32_max, i32_max, i32_min, i32_min, 0, i32_max,
                                                i32_min, 16777216};
  EXPECT_EQ(to_int<std::int32_t>(DType::i32, in32), expected32);

  constexpr auto i64_max = std::numeric_limits<std::int64_t>::max();
  constexpr auto i64_min = std::numeric_limits<std::int64_t>::min();
  const std::vector<float> in64 = {2.5f, -3.5f, 0x1p62f, 0x1p63f, 1e19f, -1e19f, -0x1p63f, kNaN, kInf};
  const std::vector<std::int64_t> expected64 = {2, -4, std::int64_t{1} << 62, i64_max, i64_max, i64_min, i64_min, 0, i64_max};
  EXPECT_EQ(to_int<std::int64_t>(DType::i64, in64), expected64);
}

TEST(Convert, IntegersToF32) {
  const std::vector<std::int8_t> i8 = {-128, -1, 0, 1, 127};
  const std::vector<std::uint8_t> u8 = {0, 1, 128, 255, 7};
  const std::vector<std::int32_t> i32 = {16777217, -16777219, 2147483647, -2147483647 - 1, 42};
  const std::vector<std::int64_t> i64 = {(std::int64_t{1} << 53) + 1, -5, std::numeric_limits<std::int64_t>::max(), 0, 9};
  std::vector<float> out(5);
  convert(DType::i8, DType::f32, 5, i8.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{-128.0f, -1.0f, 0.0f, 1.0f, 127.0f}));
  convert(DType::u8, DType::f32, 5, u8.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{0.0f, 1.0f, 128.0f, 255.0f, 7.0f}));
  convert(DType::i32, DType::f32, 5, i32.data(), out.data());
  // 16777217 and -16777219 are ties between floats: both round to the even neighbour.
  EXPECT_EQ(out, (std::vector<float>{16777216.0f, -16777220.0f, 0x1p31f, -0x1p31f, 42.0f}));
  convert(DType::i64, DType::f32, 5, i64.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{0x1p53f, -5.0f, 0x1p63f, 0.0f, 9.0f}));
}

TEST(Convert, LargeArraysAgreeWithScalarAcrossThreads) {
  constexpr std::int64_t n = 300001;
  std::vector<float> in(n);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 100.0f);
  for (float& v : in) v = dist(rng);
  std::vector<std::uint16_t> bf16(n);
  convert(DType::f32, DType::bf16, n, in.data(), bf16.data());
  std::vector<float> back(n);
  convert(DType::bf16, DType::f32, n, bf16.data(), back.data());
  const auto i8 = to_int<std::int8_t>(DType::i8, in);
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(bf16[i], core::f32_to_bf16_bits(in[i])) << i;
    ASSERT_EQ(back[i], core::bf16_bits_to_f32(bf16[i])) << i;
    ASSERT_EQ(i8[i], static_cast<std::int8_t>(std::clamp(std::nearbyint(in[i]), -128.0f, 127.0f))) << i;
  }
}

TEST(Convert, SameDtypeCopiesAndUnsupportedPairsThrow) {
  const std::vector<std::int64_t> src = {1, -2, 3};
  std::vector<std::int64_t> dst(3);
  convert(DType::i64, DType::i64, 3, src.data(), dst.data());
  EXPECT_EQ(dst, src);
  std::int32_t out32[3];
  EXPECT_THROW(convert(DType::i64, DType::i32, 3, src.data(), out32), core::Error);
  std::uint16_t out16[3];
  EXPECT_THROW(convert(DType::i64, DType::bf16, 3, src.data(), out16), core::Error);
  convert(DType::f32, DType::bf16, 0, nullptr, nullptr);  // empty is a no-op
}

}  // namespace
}  // namespace sieve::kernels::cpu
