// Elementwise kernels vs naive double references. Sizes are odd so vector tails run; a few
// are large enough to be split across threads. Run with SIEVE_ISA=scalar for portable loops.
#include "sieve/kernels/cpu/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sieve/core/dtype.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;
using Shape = std::vector<std::int64_t>;

const float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> random_values(std::int64_t count, std::uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& v : values) v = dist(rng);
  return values;
}

double reference(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::max: return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
    case BinaryOp::min: return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
  }
  return 0;
}

constexpr BinaryOp kBinaryOps[] = {BinaryOp::add, BinaryOp::sub, BinaryOp::mul,
                                   BinaryOp::div, BinaryOp::max, BinaryOp::min};

void expect_close(float actual, double expected, const std::string& where) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << where;
  } else if (std::isinf(expected)) {
    EXPECT_EQ(actual, expected) << where;
  } else {
    EXPECT_NEAR(actual, expected, 1e-6 * (1.0 + std::abs(expected))) << where;
  }
}

TEST(Elementwise, BinaryContiguousAllOps) {
  for (std::int64_t n : {1, 15, 16, 17, 1001, 100003}) {
    const auto a = random_values(n, 1);
    auto b = random_values(n, 2);
    for (float& v : b)
      if (std::abs(v) < 0.1f) v = 0.5f;  // keep div well conditioned
    for (BinaryOp op : kBinaryOps) {
      std::vector<float> out(static_cast<std::size_t>(n));
      binary(op, DType::f32, n, a.data(), b.data(), out.data());
      for (std::int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(out[i], reference(op, a[i], b[i]), 1e-6 * (1 + std::abs(reference(op, a[i], b[i]))))
            << "op " << static_cast<int>(op) << " n " << n << " i " << i;
    }
  }
}

TEST(Elementwise, BinaryInPlaceAndNaNPropagation) {
  std::vector<float> a = {1.0f, kNaN, 3.0f, -kInf, kNaN, 2.0f, 0.0f, 5.0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::vector<float> b = {kNaN, 2.0f, 1.0f, 4.0f, kNaN, kInf, -1.0f, 5.0f, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
  const auto n = static_cast<std::int64_t>(a.size());
  for (BinaryOp op : {BinaryOp::max, BinaryOp::min}) {
    std::vector<float> out(a.size());
    binary(op, DType::f32, n, a.data(), b.data(), out.data());
    for (std::size_t i = 0; i < a.size(); ++i) expect_close(out[i], reference(op, a[i], b[i]), "i=" + std::to_string(i));
  }
  std::vector<float> x = a;
  binary(BinaryOp::add, DType::f32, n, x.data(), b.data(), x.data());  // out aliases a
  for (std::size_t i = 0; i < a.size(); ++i) expect_close(x[i], double(a[i]) + b[i], "in place i=" + std::to_string(i));
}

// Naive broadcasting reference: walks every multi-index of shape.
std::vector<double> strided_reference(BinaryOp op, const Shape& shape, const Shape& a_strides, const Shape& b_strides,
                                      const float* a, const float* b) {
  std::int64_t numel = 1;
  for (auto s : shape) numel *= s;
  std::vector<double> out(static_cast<std::size_t>(numel));
  for (std::int64_t linear = 0; linear < numel; ++linear) {
    std::int64_t rest = linear, a_off = 0, b_off = 0;
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
      const std::int64_t i = rest % shape[d];
      rest /= shape[d];
      a_off += i * a_strides[d];
      b_off += i * b_strides[d];
    }
    out[static_cast<std::size_t>(linear)] = reference(op, a[a_off], b[b_off]);
  }
  return out;
}

void check_strided(const Shape& shape, const Shape& a_strides, const Shape& b_strides, const float* a, const float* b) {
  std::int64_t numel = 1;
  for (auto s : shape) numel *= s;
  for (BinaryOp op : kBinaryOps) {
    std::vector<float> out(static_cast<std::size_t>(numel), -123.0f);
    binary_strided(op, DType::f32, static_cast<int>(shape.size()), shape.data(), a_strides.data(), b_strides.data(), a,
                   b, out.data());
    const auto expected = strided_reference(op, shape, a_strides, b_strides, a, b);
    for (std::size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], expected[i], 1e-6 * (1 + std::abs(expected[i]))) << "op " << static_cast<int>(op) << " i " << i;
  }
}

TEST(Elementwise, BinaryStridedBroadcasting) {
  const auto a = random_values(4 * 3 * 5, 3, 0.5f, 2.0f);
  const auto b = random_values(4 * 3 * 5, 4, 0.5f, 2.0f);
  check_strided({4, 3, 5}, {5, 0, 1}, {0, 5, 1}, a.data(), b.data());    // [4,1,5] op [1,3,5]
  check_strided({4, 3, 5}, {15, 5, 1}, {0, 0, 0}, a.data(), b.data());   // tensor op scalar
  check_strided({4, 3, 5}, {0, 0, 0}, {15, 5, 1}, a.data(), b.data());   // scalar op tensor
  check_strided({4, 3, 5}, {1, 0, 0}, {0, 1, 0}, a.data(), b.data());    // [4,1,1] op [1,3,1]: inner broadcast
  check_strided({5, 12}, {1, 5}, {12, 1}, a.data(), b.data());           // a transposed: gathered inner loop
  check_strided({3, 20}, {20, 1}, {0, 1}, a.data(), b.data());           // bias add: [3,20] + [20]
}

TEST(Elementwise, BinaryStridedEdgeShapes) {
  const auto a = random_values(300, 5, 0.5f, 2.0f);
  const auto b = random_values(300, 6, 0.5f, 2.0f);
  check_strided({}, {}, {}, a.data() + 7, b.data() + 9);  // rank 0: one element
  check_strided({2, 1, 3, 1, 2, 1, 2, 3}, {36, 0, 12, 0, 6, 0, 3, 1}, {0, 0, 1, 0, 3, 0, 0, 6}, a.data(), b.data());
  check_strided({10}, {-1}, {2}, a.data() + 9, b.data());  // reversed a, every other b
  std::vector<float> out(1, 7.0f);
  const Shape empty = {3, 0, 2}, zeros = {0, 0, 0};
  binary_strided(BinaryOp::add, DType::f32, 3, empty.data(), zeros.data(), zeros.data(), a.data(), b.data(), out.data());
  EXPECT_EQ(out[0], 7.0f);  // nothing written
  const Shape too_deep(9, 1);
  EXPECT_THROW(binary_strided(BinaryOp::add, DType::f32, 9, too_deep.data(), too_deep.data(), too_deep.data(), a.data(),
                              b.data(), out.data()),
               core::Error);
}

TEST(Elementwise, BinaryStridedLongRowsSplitAcrossThreads) {
  constexpr std::int64_t n = 70001;  // over two 32K-element pieces
  const auto a = random_values(n, 7);
  const float s = 1.5f;
  check_strided({n}, {1}, {0}, a.data(), &s);
  const auto b = random_values(2 * n, 8);
  check_strided({2, n}, {0, 1}, {n, 1}, a.data(), b.data());
}

double reference(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::rsqrt: return 1.0 / std::sqrt(x);
    case UnaryOp::abs: return std::abs(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case UnaryOp::square: return x * x;
    case UnaryOp::reciprocal: return 1.0 / x;
  }
  return 0;
}

TEST(Elementwise, UnaryAllOps) {
  constexpr UnaryOp kOps[] = {UnaryOp::neg, UnaryOp::exp,  UnaryOp::log,     UnaryOp::sqrt,   UnaryOp::rsqrt,
                              UnaryOp::abs, UnaryOp::tanh, UnaryOp::sigmoid, UnaryOp::square, UnaryOp::reciprocal};
  for (std::int64_t n : {3, 33, 70001}) {
    const auto signed_values = random_values(n, 9, -8.0f, 8.0f);
    const auto positive_values = random_values(n, 10, 0.01f, 50.0f);
    for (UnaryOp op : kOps) {
      const bool needs_positive = op == UnaryOp::log || op == UnaryOp::sqrt || op == UnaryOp::rsqrt;
      const auto& in = needs_positive ? positive_values : signed_values;
      std::vector<float> out(static_cast<std::size_t>(n));
      unary(op, DType::f32, n, in.data(), out.data());
      for (std::int64_t i = 0; i < n; ++i) {
        const double expected = reference(op, in[i]);
        ASSERT_NEAR(out[i], expected, 2e-6 * (1e-3 + std::abs(expected)))
            << "op " << static_cast<int>(op) << " x " << in[i];
      }
    }
  }
}

TEST(Elementwise, UnarySpecialValuesAndInPlace) {
  std::vector<float> x = {-200.0f, 200.0f, 0.0f, -1.0f, kInf, -kInf};
  std::vector<float> out(x.size());
  unary(UnaryOp::sigmoid, DType::f32, 6, x.data(), out.data());
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], 0.5f);
  EXPECT_EQ(out[4], 1.0f);
  EXPECT_EQ(out[5], 0.0f);
  unary(UnaryOp::log, DType::f32, 6, x.data(), out.data());
  EXPECT_EQ(out[2], -kInf);
  EXPECT_TRUE(std::isnan(out[3]));
  unary(UnaryOp::sqrt, DType::f32, 6, x.data(), out.data());
  EXPECT_TRUE(std::isnan(out[3]));
  unary(UnaryOp::reciprocal, DType::f32, 6, x.data(), out.data());
  EXPECT_EQ(out[2], kInf);
  unary(UnaryOp::neg, DType::f32, 6, x.data(), x.data());  // in place
  EXPECT_EQ(x[0], 200.0f);
  EXPECT_TRUE(std::signbit(x[2]));  // -0
  EXPECT_EQ(x[5], kInf);
}

TEST(Elementwise, ScaleAxpy) {
  constexpr std::int64_t n = 40001;
  const auto x = random_values(n, 11);
  const auto y0 = random_values(n, 12);
  std::vector<float> out(n);
  scale(DType::f32, n, -0.75f, x.data(), out.data());
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], -0.75f * x[i]);
  std::vector<float> y = y0;
  axpy(DType::f32, n, 0.3f, x.data(), y.data());
  for (std::int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], double(y0[i]) + 0.3 * double(x[i]), 1e-6);
}

TEST(Elementwise, FillEveryDtype) {
  std::vector<float> f(37);
  fill(DType::f32, 37, 2.5f, f.data());
  for (float v : f) ASSERT_EQ(v, 2.5f);
  std::vector<std::uint16_t> h(100001);
  fill(DType::bf16, static_cast<std::int64_t>(h.size()), 1.0f / 3.0f, h.data());
  for (auto v : h) ASSERT_EQ(v, core::f32_to_bf16_bits(1.0f / 3.0f));
  fill(DType::f16, 5, -2.0f, h.data());
  EXPECT_EQ(h[4], 0xc000);
  std::vector<std::int8_t> i8(9);
  fill(DType::i8, 9, 300.0f, i8.data());  // saturates
  for (auto v : i8) ASSERT_EQ(v, 127);
  std::vector<std::int64_t> i64(3);
  fill(DType::i64, 3, -7.0f, i64.data());
  EXPECT_EQ(i64, (std::vector<std::int64_t>{-7, -7, -7}));
}

// Naive strided gather for copy_strided, on element indices.
template <typename T>
std::vector<T> gather_reference(const Shape& shape, const Shape& strides, const T* src) {
  std::int64_t numel = 1;
  for (auto s : shape) numel *= s;
  std::vector<T> out(static_cast<std::size_t>(numel));
  for (std::int64_t linear = 0; linear < numel; ++linear) {
    std::int64_t rest = linear, off = 0;
    for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
      off += (rest % shape[d]) * strides[d];
      rest /= shape[d];
    }
    out[static_cast<std::size_t>(linear)] = src[off];
  }
  return out;
}

template <typename T>
void check_copy(DType dtype, const Shape& shape, const Shape& strides, std::int64_t base, std::int64_t storage) {
  std::vector<T> src(static_cast<std::size_t>(storage));
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<T>(i * 2654435761u);
  const auto expected = gather_reference(shape, strides, src.data() + base);
  std::vector<T> dst(expected.size());
  copy_strided(dtype, static_cast<int>(shape.size()), shape.data(), strides.data(), src.data() + base, dst.data());
  ASSERT_EQ(dst, expected) << "dtype " << core::dtype_name(dtype);
}

template <typename T>
void check_copy_layouts(DType dtype) {
  check_copy<T>(dtype, {70, 45}, {1, 70}, 0, 70 * 45);                          // 2-D transpose, ragged tiles
  check_copy<T>(dtype, {2, 33, 65}, {33 * 65, 1, 33}, 0, 2 * 33 * 65);          // batched transpose
  check_copy<T>(dtype, {2, 4, 6, 8}, {192, 8, 32, 1}, 0, 384);                  // [B,T,H,D] -> [B,H,T,D]
  check_copy<T>(dtype, {5, 7}, {20, 2}, 3, 120);                                // slice with a step
  check_copy<T>(dtype, {6, 9}, {0, 1}, 0, 9);                                   // broadcast rows
  check_copy<T>(dtype, {4, 3}, {-3, -1}, 11, 12);                               // both dims reversed
  check_copy<T>(dtype, {3, 4, 5}, {20, 5, 1}, 0, 60);                           // already contiguous
  check_copy<T>(dtype, {}, {}, 2, 3);                                           // rank 0
  check_copy<T>(dtype, {300, 257}, {1, 300}, 0, 300 * 257);                     // large transpose, threaded
  check_copy<T>(dtype, {100003}, {3}, 0, 300009);                               // long strided row, threaded
}

TEST(Elementwise, CopyStridedEveryElementSize) {
  check_copy_layouts<std::uint8_t>(DType::u8);
  check_copy_layouts<std::uint16_t>(DType::bf16);
  check_copy_layouts<float>(DType::f32);
  check_copy_layouts<std::int64_t>(DType::i64);
}

TEST(Elementwise, UnsupportedDtypeNamesIt) {
  float buffer[4] = {};
  try {
    binary(BinaryOp::add, DType::bf16, 2, buffer, buffer, buffer);
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(unary(UnaryOp::exp, DType::f16, 2, buffer, buffer), core::Error);
  EXPECT_THROW(scale(DType::i32, 2, 1.0f, buffer, buffer), core::Error);
  EXPECT_THROW(axpy(DType::i8, 2, 1.0f, buffer, buffer), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
