// Softmax vs a naive double reference; backward vs central finite differences.
// Shape letters: rows vectors of C channels (softmax.h).
#include "sieve/kernels/cpu/softmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "reference_checks.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;
using testing::expect_close;
using testing::finite_difference_grad;
using testing::max_abs;
using testing::random_floats;
using testing::to_double;

std::vector<double> softmax_reference(std::int64_t rows, std::int64_t C, const std::vector<double>& x) {
  std::vector<double> y(x.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY;
    for (std::int64_t c = 0; c < C; ++c) m = std::max(m, x[r * C + c]);
    double sum = 0.0;
    for (std::int64_t c = 0; c < C; ++c) sum += std::exp(x[r * C + c] - m);
    for (std::int64_t c = 0; c < C; ++c) y[r * C + c] = std::exp(x[r * C + c] - m) / sum;
  }
  return y;
}

struct Shape {
  std::int64_t rows;
  std::int64_t C;
};

TEST(Softmax, ForwardMatchesDoubleReference) {
  for (const Shape s : {Shape{1, 1}, Shape{3, 7}, Shape{2, 16}, Shape{4, 33}, Shape{3, 100}, Shape{2, 301},
                        Shape{40, 1000}}) {
    const std::string where = "rows=" + std::to_string(s.rows) + " C=" + std::to_string(s.C);
    // A spread of +-10 puts probabilities down to ~1e-9; the atol is below every one of them.
    const auto x = random_floats(s.rows * s.C, 1, -10.0f, 10.0f);
    std::vector<float> y(x.size());
    softmax_forward(DType::f32, s.rows, s.C, x.data(), y.data());
    expect_close(y, softmax_reference(s.rows, s.C, to_double(x)), 2e-6, 1e-37, "y " + where);
    // At +-30 (probabilities to ~1e-26) rounding x - max in f32 alone costs up to 60 * 2^-24
    // (3.6e-6) relative error; that is inherent to f32 inputs, not to the kernel.
    const auto wide = random_floats(s.rows * s.C, 2, -30.0f, 30.0f);
    softmax_forward(DType::f32, s.rows, s.C, wide.data(), y.data());
    expect_close(y, softmax_reference(s.rows, s.C, to_double(wide)), 6e-6, 1e-37, "wide y " + where);
  }
}

TEST(Softmax, NegativeInfinityGetsZeroAndLargeValuesAreStable) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {1000.0f, 999.0f, -inf, 998.0f, -inf, 1000.0f, -1000.0f, 0.5f, -inf};
  const std::int64_t rows = 1, C = static_cast<std::int64_t>(x.size());
  std::vector<float> y(x.size());
  softmax_forward(DType::f32, rows, C, x.data(), y.data());
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[4], 0.0f);
  EXPECT_EQ(y[8], 0.0f);
  expect_close(y, softmax_reference(rows, C, to_double(x)), 2e-6, 1e-37, "y");
}

TEST(Softmax, InPlace) {
  auto x = random_floats(3 * 29, 2, -5.0f, 5.0f);
  const auto y_ref = softmax_reference(3, 29, to_double(x));
  softmax_forward(DType::f32, 3, 29, x.data(), x.data());
  expect_close(x, y_ref, 2e-6, 1e-12, "in-place y");
}

TEST(Softmax, BackwardMatchesFiniteDifferences) {
  for (const Shape s : {Shape{3, 7}, Shape{2, 37}, Shape{1, 1}}) {
    const auto x = random_floats(s.rows * s.C, 3, -3.0f, 3.0f);
    const auto dy = random_floats(s.rows * s.C, 4);
    std::vector<float> y(x.size()), dx(x.size());
    softmax_forward(DType::f32, s.rows, s.C, x.data(), y.data());
    softmax_backward(DType::f32, s.rows, s.C, y.data(), dy.data(), dx.data());
    const auto dx_fd = finite_difference_grad(
        [&](const std::vector<double>& v) { return softmax_reference(s.rows, s.C, v); }, to_double(x), to_double(dy));
    const std::string where = "rows=" + std::to_string(s.rows) + " C=" + std::to_string(s.C);
    expect_close(dx, dx_fd, 1e-4, 1e-6 * std::max(1e-3, max_abs(dx_fd)), "dx " + where);
  }
}

TEST(Softmax, BackwardInPlaceOverDy) {
  const auto x = random_floats(2 * 19, 5);
  auto dy = random_floats(2 * 19, 6);
  std::vector<float> y(x.size()), dx(x.size());
  softmax_forward(DType::f32, 2, 19, x.data(), y.data());
  softmax_backward(DType::f32, 2, 19, y.data(), dy.data(), dx.data());
  softmax_backward(DType::f32, 2, 19, y.data(), dy.data(), dy.data());
  EXPECT_EQ(dx, dy);
}

TEST(Softmax, UnsupportedDtypeNamesIt) {
  std::vector<float> x(4, 1.0f), y(4);
  try {
    softmax_forward(DType::bf16, 1, 4, x.data(), y.data());
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(softmax_backward(DType::f16, 1, 4, y.data(), x.data(), y.data()), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
