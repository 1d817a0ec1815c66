// RoPE (HF LLaMA rotate_half layout) vs a naive double reference; backward vs central finite
// differences; the cached cos/sin tables under large positions and concurrent callers.
// Shape letters: B batch, T tokens, H heads, D head dim (rope.h).
#include "sieve/kernels/cpu/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "reference_checks.h"
#include "sieve/core/error.h"

namespace sieve::kernels::cpu {
namespace {

using core::DType;
using testing::expect_close;
using testing::finite_difference_grad;
using testing::random_floats;
using testing::to_double;

struct Shape {
  std::int64_t B, T, H, D;
};

std::int64_t numel(const Shape& s) { return s.B * s.T * s.H * s.D; }

// y [B, T, H, D]: for i < D/2, (x[i], x[i + D/2]) rotated by (offset + t) * theta^(-2i/D).
std::vector<double> rope_reference(const Shape& s, std::int64_t offset, double theta, const std::vector<double>& x) {
  std::vector<double> y(x.size());
  const std::int64_t half = s.D / 2;
  for (std::int64_t b = 0; b < s.B; ++b) {
    for (std::int64_t t = 0; t < s.T; ++t) {
      for (std::int64_t h = 0; h < s.H; ++h) {
        const std::int64_t base = ((b * s.T + t) * s.H + h) * s.D;
        for (std::int64_t i = 0; i < half; ++i) {
          const double exponent = -2.0 * static_cast<double>(i) / static_cast<double>(s.D);
          const double angle = static_cast<double>(offset + t) * std::pow(theta, exponent);
          const double c = std::cos(angle), sn = std::sin(angle);
          const double x1 = x[base + i], x2 = x[base + half + i];
          y[base + i] = x1 * c - x2 * sn;
          y[base + half + i] = x2 * c + x1 * sn;
        }
      }
    }
  }
  return y;
}

std::string describe(const Shape& s, std::int64_t offset) {
  return "B=" + std::to_string(s.B) + " T=" + std::to_string(s.T) + " H=" + std::to_string(s.H) +
         " D=" + std::to_string(s.D) + " offset=" + std::to_string(offset);
}

TEST(Rope, ForwardMatchesDoubleReference) {
  // D/2 = 1, 3, 4, 20 (16 + tail), 32 (two AVX-512 vectors), 33.
  for (const Shape s : {Shape{1, 1, 1, 2}, Shape{2, 5, 3, 6}, Shape{1, 4, 2, 8}, Shape{2, 3, 2, 40},
                        Shape{2, 7, 3, 64}, Shape{1, 3, 1, 66}}) {
    for (std::int64_t offset : {0, 3, 1000}) {
      const auto x = random_floats(numel(s), 1);
      std::vector<float> y(x.size());
      rope_forward(DType::f32, s.B, s.T, s.H, s.D, offset, 10000.0f, x.data(), y.data());
      expect_close(y, rope_reference(s, offset, 10000.0, to_double(x)), 1e-5, 1e-6, "y " + describe(s, offset));
    }
  }
}

// Hand-checked: D = 4, theta = 100, position 1: pair 0 turns by 1 rad, pair 1 by 0.1 rad.
TEST(Rope, RotateHalfLayout) {
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, 4.0f};
  std::vector<float> y(4);
  rope_forward(DType::f32, 1, 1, 1, 4, 1, 100.0f, x.data(), y.data());
  const std::vector<double> expected = {1.0 * std::cos(1.0) - 3.0 * std::sin(1.0),
                                        2.0 * std::cos(0.1) - 4.0 * std::sin(0.1),
                                        3.0 * std::cos(1.0) + 1.0 * std::sin(1.0),
                                        4.0 * std::cos(0.1) + 2.0 * std::sin(0.1)};
  expect_close(y, expected, 1e-6, 1e-7, "y");
}

TEST(Rope, PositionZeroIsIdentity) {
  const Shape s{1, 1, 3, 10};
  const auto x = random_floats(numel(s), 2);
  std::vector<float> y(x.size());
  rope_forward(DType::f32, s.B, s.T, s.H, s.D, 0, 10000.0f, x.data(), y.data());
  EXPECT_EQ(x, y);
}

// Angles are formed in double: in f32 a position of 5e6 alone has a 0.5 rad rounding step.
// 100000 stays inside a cached table; 5e6 (with D = 4) is past the cache and built per call.
TEST(Rope, LargePositionsStayAccurate) {
  for (const auto& [s, offset] : {std::pair{Shape{1, 3, 2, 8}, std::int64_t{100000}},
                                  std::pair{Shape{1, 3, 2, 4}, std::int64_t{5000000}}}) {
    const auto x = random_floats(numel(s), 3);
    std::vector<float> y(x.size());
    rope_forward(DType::f32, s.B, s.T, s.H, s.D, offset, 10000.0f, x.data(), y.data());
    expect_close(y, rope_reference(s, offset, 10000.0, to_double(x)), 1e-5, 1e-6, "y " + describe(s, offset));
  }
}

TEST(Rope, BackwardMatchesFiniteDifferences) {
  const Shape s{2, 3, 2, 10};
  const std::int64_t offset = 7;
  const auto x = random_floats(numel(s), 4);
  const auto dy = random_floats(numel(s), 5);
  std::vector<float> dx(x.size());
  rope_backward(DType::f32, s.B, s.T, s.H, s.D, offset, 500.0f, dy.data(), dx.data());
  const auto dx_fd = finite_difference_grad(
      [&](const std::vector<double>& v) { return rope_reference(s, offset, 500.0, v); }, to_double(x), to_double(dy));
  expect_close(dx, dx_fd, 1e-5, 1e-6, "dx");
}

TEST(Rope, BackwardInvertsForwardInPlace) {
  const Shape s{2, 9, 3, 64};
  const auto x = random_floats(numel(s), 6);
  auto y = x;
  rope_forward(DType::f32, s.B, s.T, s.H, s.D, 11, 10000.0f, y.data(), y.data());
  rope_backward(DType::f32, s.B, s.T, s.H, s.D, 11, 10000.0f, y.data(), y.data());
  expect_close(y, to_double(x), 1e-5, 1e-6, "round trip");
}

// Threads growing the same (D, theta) table to different lengths while others read it (calls
// longer than 64 positions grow the table).
TEST(Rope, ConcurrentCallersSeeCorrectTables) {
  const Shape s{1, 70, 2, 12};
  const float theta = 777.0f;  // a key no other test uses, so the table starts empty
  const auto x = random_floats(numel(s), 7);
  std::vector<std::vector<float>> outputs(8, std::vector<float>(x.size()));
  std::vector<std::thread> threads;
  for (int k = 0; k < 8; ++k) {
    threads.emplace_back([&, k] {
      rope_forward(DType::f32, s.B, s.T, s.H, s.D, std::int64_t{300} * k * k, theta, x.data(), outputs[k].data());
    });
  }
  for (auto& t : threads) t.join();
  for (int k = 0; k < 8; ++k) {
    const std::int64_t offset = std::int64_t{300} * k * k;
    expect_close(outputs[k], rope_reference(s, offset, theta, to_double(x)), 1e-5, 1e-6, "y " + describe(s, offset));
  }
}

// Decode steps past the cached table: each computes its own row instead of growing the table
// (which would double it: as many rows as the prompt has, inside one step), with the values the
// grown table gives those positions.
TEST(Rope, DecodeStepsPastTheTableDoNotGrowIt) {
  const std::int64_t H = 2, D = 8, prompt = 300, steps = 4;
  const float theta = 4321.0f;  // a key no other test uses
  ASSERT_EQ(rope_cached_positions(D, theta), 0);
  const auto x = random_floats((prompt + steps) * H * D, 8);
  std::vector<float> y(x.size());
  rope_forward(DType::f32, 1, prompt, H, D, 0, theta, x.data(), y.data());
  EXPECT_EQ(rope_cached_positions(D, theta), prompt);
  for (std::int64_t p = prompt; p < prompt + steps; ++p)
    rope_forward(DType::f32, 1, 1, H, D, p, theta, x.data() + p * H * D, y.data() + p * H * D);
  EXPECT_EQ(rope_cached_positions(D, theta), prompt);
  // A long call grows the table; the rows the steps computed alone are the same, bit for bit.
  std::vector<float> whole(x.size());
  rope_forward(DType::f32, 1, prompt + steps, H, D, 0, theta, x.data(), whole.data());
  EXPECT_EQ(rope_cached_positions(D, theta), 2 * prompt);
  EXPECT_EQ(y, whole);
  const Shape s{1, prompt + steps, H, D};
  expect_close(y, rope_reference(s, 0, theta, to_double(x)), 1e-5, 1e-6, "y " + describe(s, 0));
}

TEST(Rope, BadArgumentsAreErrors) {
  std::vector<float> x(2 * 5, 1.0f), y(x.size());
  EXPECT_THROW(rope_forward(DType::f32, 1, 2, 1, 5, 0, 10000.0f, x.data(), y.data()), core::Error);  // odd D
  EXPECT_THROW(rope_forward(DType::f32, 1, 1, 1, 4, -1, 10000.0f, x.data(), y.data()), core::Error);
  EXPECT_THROW(rope_forward(DType::f32, 1, 1, 1, 4, 0, 0.0f, x.data(), y.data()), core::Error);
  try {
    rope_backward(DType::bf16, 1, 1, 1, 4, 0, 10000.0f, x.data(), y.data());
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rope_backward"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sieve::kernels::cpu
