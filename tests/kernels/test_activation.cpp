// SiLU, GELU and SwiGLU vs naive double references; backward vs central finite differences.
// Shape letter: n elements (activation.h).
#include "sieve/kernels/cpu/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "reference_checks.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;
using testing::expect_close;
using testing::random_floats;

double silu_ref(double x) { return x / (1.0 + std::exp(-x)); }
double gelu_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

std::vector<double> map(const std::vector<float>& x, const std::function<double(double)>& f) {
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = f(x[i]);
  return y;
}

// dy * f'(x) per element, f' by central differences of the double reference.
std::vector<double> fd_backward(const std::vector<float>& x, const std::vector<float>& dy,
                                const std::function<double(double)>& f) {
  std::vector<double> dx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double h = 1e-5 * std::max(1.0, std::abs(static_cast<double>(x[i])));
    dx[i] = dy[i] * (f(x[i] + h) - f(x[i] - h)) / (2.0 * h);
  }
  return dx;
}

// A wide range (the vectorised exp is exercised over most of its domain), the extremes where
// exp over- or underflows, and a size with a tail for 8 and 16 lanes.
std::vector<float> wide_inputs() {
  auto x = random_floats(1001, 1, -85.0f, 85.0f);
  for (float v : {0.0f, -0.0f, 1e-3f, -1e-3f, 1.0f, -1.0f, -87.0f, -88.5f, -90.0f, -100.0f, -1000.0f, 88.5f, 100.0f,
                  1000.0f}) {
    x.push_back(v);
  }
  return x;
}

TEST(Silu, ForwardMatchesDoubleReference) {
  const auto x = wide_inputs();
  std::vector<float> y(x.size());
  silu_forward(DType::f32, static_cast<std::int64_t>(x.size()), x.data(), y.data());
  // Relative accuracy down to |y| ~ 1e-35 (x ~ -80) checks exp's relative error; below that the
  // result may flush towards 0.
  expect_close(y, map(x, silu_ref), 1e-6, 1e-35, "silu y");
}

TEST(Silu, BackwardMatchesFiniteDifferences) {
  const auto x = random_floats(203, 2, -12.0f, 12.0f);
  const auto dy = random_floats(203, 3);
  std::vector<float> dx(x.size());
  silu_backward(DType::f32, static_cast<std::int64_t>(x.size()), x.data(), dy.data(), dx.data());
  expect_close(dx, fd_backward(x, dy, silu_ref), 1e-5, 1e-7, "silu dx");
}

TEST(Silu, InPlace) {
  auto x = random_floats(37, 4, -6.0f, 6.0f);
  const auto y_ref = map(x, silu_ref);
  silu_forward(DType::f32, 37, x.data(), x.data());
  expect_close(x, y_ref, 1e-6, 1e-7, "in-place silu");
}

TEST(Gelu, ForwardMatchesDoubleReference) {
  auto x = random_floats(517, 5, -12.0f, 12.0f);
  for (float v : {0.0f, -0.0f, 1e-4f, -1e-4f, -30.0f, 30.0f}) x.push_back(v);
  std::vector<float> y(x.size());
  gelu_forward(DType::f32, static_cast<std::int64_t>(x.size()), x.data(), y.data());
  expect_close(y, map(x, gelu_ref), 1e-5, 1e-30, "gelu y");
}

TEST(Gelu, BackwardMatchesFiniteDifferences) {
  const auto x = random_floats(203, 6, -8.0f, 8.0f);
  const auto dy = random_floats(203, 7);
  std::vector<float> dx(x.size());
  gelu_backward(DType::f32, static_cast<std::int64_t>(x.size()), x.data(), dy.data(), dx.data());
  expect_close(dx, fd_backward(x, dy, gelu_ref), 1e-5, 1e-7, "gelu dx");
}

TEST(SwiGlu, ForwardMatchesDoubleReference) {
  for (std::int64_t n : {1, 15, 17, 64, 1001, 100003}) {
    const auto gate = random_floats(n, 8, -10.0f, 10.0f);
    const auto up = random_floats(n, 9, -3.0f, 3.0f);
    std::vector<float> out(static_cast<std::size_t>(n));
    swiglu_forward(DType::f32, n, gate.data(), up.data(), out.data());
    std::vector<double> ref(out.size());
    for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = silu_ref(gate[i]) * up[i];
    expect_close(out, ref, 1e-6, 1e-7, "swiglu out n=" + std::to_string(n));
  }
}

TEST(SwiGlu, BackwardMatchesFiniteDifferences) {
  for (std::int64_t n : {1, 37, 1001}) {
    const auto gate = random_floats(n, 10, -10.0f, 10.0f);
    const auto up = random_floats(n, 11, -3.0f, 3.0f);
    const auto dout = random_floats(n, 12);
    std::vector<float> dgate(gate.size()), dup(up.size());
    swiglu_backward(DType::f32, n, gate.data(), up.data(), dout.data(), dgate.data(), dup.data());
    std::vector<double> dgate_ref(gate.size()), dup_ref(up.size());
    for (std::size_t i = 0; i < gate.size(); ++i) {
      const double g = gate[i], u = up[i];
      const double h = 1e-5 * std::max(1.0, std::abs(g));
      dgate_ref[i] = dout[i] * u * (silu_ref(g + h) - silu_ref(g - h)) / (2.0 * h);
      dup_ref[i] = dout[i] * silu_ref(g);  // out is linear in up
    }
    expect_close(dgate, dgate_ref, 1e-5, 1e-7, "swiglu dgate n=" + std::to_string(n));
    expect_close(dup, dup_ref, 1e-6, 1e-7, "swiglu dup n=" + std::to_string(n));
  }
}

TEST(SwiGlu, BackwardInPlaceOverInputs) {
  const std::int64_t n = 45;
  auto gate = random_floats(n, 13, -5.0f, 5.0f);
  auto up = random_floats(n, 14);
  const auto dout = random_floats(n, 15);
  std::vector<float> dgate(gate.size()), dup(up.size());
  swiglu_backward(DType::f32, n, gate.data(), up.data(), dout.data(), dgate.data(), dup.data());
  swiglu_backward(DType::f32, n, gate.data(), up.data(), dout.data(), gate.data(), up.data());
  EXPECT_EQ(gate, dgate);
  EXPECT_EQ(up, dup);
}

TEST(Activation, UnsupportedDtypeNamesIt) {
  std::vector<float> x(4, 1.0f), y(4);
  try {
    swiglu_forward(DType::f16, 4, x.data(), x.data(), y.data());
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("swiglu_forward"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("f16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gelu_forward(DType::bf16, 4, x.data(), y.data()), core::Error);
  EXPECT_THROW(silu_backward(DType::i8, 4, x.data(), x.data(), y.data()), core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
