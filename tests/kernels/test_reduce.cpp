// Reductions vs double references. Run with SIEVE_ISA=scalar to cover the portable loops.
#include "sieve/kernels/cpu/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "sieve/core/dtype.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;

std::vector<float> random_values(std::int64_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.5f, 2.0f);
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& v : values) v = dist(rng);
  return values;
}

// long double sums as the reference (exact enough for these sizes).
long double reference_sum(const float* x, std::int64_t n, bool square) {
  long double total = 0;
  for (std::int64_t i = 0; i < n; ++i) total += square ? static_cast<long double>(x[i]) * x[i] : x[i];
  return total;
}

TEST(Reduce, SumAndSumSquaresMatchReference) {
  for (std::int64_t n : {0, 1, 7, 31, 33, 1000, 32768, 100003}) {
    const auto x = random_values(n, static_cast<std::uint32_t>(n + 1));
    const double s = sum(DType::f32, n, x.data());
    const double q = sum_squares(DType::f32, n, x.data());
    const long double s_ref = reference_sum(x.data(), n, false);
    const long double q_ref = reference_sum(x.data(), n, true);
    EXPECT_NEAR(s, static_cast<double>(s_ref), 1e-12 * (1.0 + std::abs(static_cast<double>(q_ref)))) << n;
    EXPECT_NEAR(q, static_cast<double>(q_ref), 1e-12 * (1.0 + static_cast<double>(q_ref))) << n;
  }
}

TEST(Reduce, LongSumsKeepPrecisionAnF32AccumulatorWouldLose) {
  // 2^21 copies of 0.1f: a running f32 sum stalls far from the answer; double stays exact.
  constexpr std::int64_t n = 1 << 21;
  const std::vector<float> x(n, 0.1f);
  const double value = 0.1f;
  EXPECT_DOUBLE_EQ(sum(DType::f32, n, x.data()), n * value);  // every partial sum is exact
  EXPECT_NEAR(sum_squares(DType::f32, n, x.data()), n * (value * value), 1e-12 * n * (value * value));
  float naive = 0.0f;
  for (float v : x) naive += v;
  EXPECT_GT(std::abs(naive - n * value), 1.0);  // what the double accumulation is for
}

TEST(Reduce, ResultsDoNotDependOnThreadCount) {
  const auto x = random_values(300001, 5);
  const int threads = core::num_threads();
  core::set_num_threads(1);
  const double s1 = sum(DType::f32, 300001, x.data());
  std::vector<float> rows1(300);
  sum_rows(DType::f32, 1000, 300, x.data(), rows1.data(), false);
  core::set_num_threads(3);
  const double s3 = sum(DType::f32, 300001, x.data());
  std::vector<float> rows3(300);
  sum_rows(DType::f32, 1000, 300, x.data(), rows3.data(), false);
  core::set_num_threads(threads);
  EXPECT_EQ(s1, s3);
  EXPECT_EQ(rows1, rows3);
}

void check_sum_rows(std::int64_t rows, std::int64_t cols, bool accumulate) {
  const auto x = random_values(rows * cols, static_cast<std::uint32_t>(rows * 7 + cols));
  const auto initial = random_values(cols, 99);
  std::vector<float> out = initial;
  sum_rows(DType::f32, rows, cols, x.data(), out.data(), accumulate);
  for (std::int64_t c = 0; c < cols; ++c) {
    long double expected = accumulate ? initial[c] : 0.0L;
    for (std::int64_t r = 0; r < rows; ++r) expected += x[r * cols + c];
    ASSERT_NEAR(out[c], static_cast<double>(expected), 1e-6 * (1.0 + std::abs(static_cast<double>(expected))))
        << "rows " << rows << " cols " << cols << " c " << c;
  }
}

TEST(Reduce, SumRowsShapesAndAccumulate) {
  check_sum_rows(3, 5, false);
  check_sum_rows(1000, 700, false);  // several bands and a partial column block
  check_sum_rows(1000, 700, true);
  check_sum_rows(100000, 1, false);  // one column, many rows
  check_sum_rows(1, 1500, true);
  std::vector<float> out = {4.0f, 5.0f};
  sum_rows(DType::f32, 0, 2, nullptr, out.data(), true);  // empty sum added: unchanged
  EXPECT_EQ(out, (std::vector<float>{4.0f, 5.0f}));
  sum_rows(DType::f32, 0, 2, nullptr, out.data(), false);
  EXPECT_EQ(out, (std::vector<float>{0.0f, 0.0f}));
}

TEST(Reduce, SumLastDim) {
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{37, 1001}, {1, 100003}, {5000, 3}, {4, 0}}) {
    const auto x = random_values(rows * cols, 17);
    std::vector<float> out(static_cast<std::size_t>(rows), -1.0f);
    sum_last_dim(DType::f32, rows, cols, x.data(), out.data());
    for (std::int64_t r = 0; r < rows; ++r) {
      const double expected = static_cast<double>(reference_sum(x.data() + r * cols, cols, false));
      ASSERT_NEAR(out[r], expected, 1e-6 * (1.0 + std::abs(expected))) << rows << "x" << cols << " r " << r;
    }
  }
}

TEST(Reduce, MaxLastDim) {
  constexpr std::int64_t rows = 40, cols = 37;
  auto x = random_values(rows * cols, 23);
  const float inf = std::numeric_limits<float>::infinity();
  for (std::int64_t c = 0; c < cols; ++c) x[3 * cols + c] = -inf;  // a row of -inf
  x[5 * cols + 36] = std::numeric_limits<float>::quiet_NaN();       // NaN in the tail lanes
  x[6 * cols + 0] = std::numeric_limits<float>::quiet_NaN();        // NaN first
  x[7 * cols + 36] = 1000.0f;                                        // max in the tail
  std::vector<float> out(rows);
  max_last_dim(DType::f32, rows, cols, x.data(), out.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    if (r == 5 || r == 6) {
      EXPECT_TRUE(std::isnan(out[r])) << r;
      continue;
    }
    float expected = -inf;
    for (std::int64_t c = 0; c < cols; ++c) expected = std::max(expected, x[r * cols + c]);
    EXPECT_EQ(out[r], expected) << r;
  }
  EXPECT_EQ(out[7], 1000.0f);
  EXPECT_THROW(max_last_dim(DType::f32, 2, 0, x.data(), out.data()), core::Error);
}

TEST(Reduce, RejectsOtherDtypes) {
  float buffer[2] = {};
  EXPECT_THROW(sum(DType::bf16, 2, buffer), core::Error);
  EXPECT_THROW(sum_squares(DType::f16, 2, buffer), core::Error);
  EXPECT_THROW(sum_rows(DType::i32, 1, 2, buffer, buffer, false), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
