// RMSNorm / LayerNorm vs naive double references; backward vs central finite differences.
// Shape letters: rows vectors of C channels (norm.h).
#include "sieve/kernels/cpu/norm.h"

#include <gtest/gtest.h>

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
using testing::expect_close;
using testing::finite_difference_grad;
using testing::max_abs;
using testing::random_floats;
using testing::to_double;

constexpr float kEps = 1e-5f;

// y [rows, C] of RMSNorm in double.
std::vector<double> rmsnorm_reference(std::int64_t rows, std::int64_t C, const std::vector<double>& x,
                                      const std::vector<double>& w, std::vector<double>* rstd = nullptr) {
  std::vector<double> y(x.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    double ss = 0.0;
    for (std::int64_t c = 0; c < C; ++c) ss += x[r * C + c] * x[r * C + c];
    const double rs = 1.0 / std::sqrt(ss / static_cast<double>(C) + kEps);
    if (rstd != nullptr) rstd->push_back(rs);
    for (std::int64_t c = 0; c < C; ++c) y[r * C + c] = x[r * C + c] * rs * w[c];
  }
  return y;
}

// y [rows, C] of LayerNorm in double; b empty means no bias.
std::vector<double> layernorm_reference(std::int64_t rows, std::int64_t C, const std::vector<double>& x,
                                        const std::vector<double>& w, const std::vector<double>& b,
                                        std::vector<double>* mean = nullptr, std::vector<double>* rstd = nullptr) {
  std::vector<double> y(x.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    double mu = 0.0;
    for (std::int64_t c = 0; c < C; ++c) mu += x[r * C + c];
    mu /= static_cast<double>(C);
    double var = 0.0;
    for (std::int64_t c = 0; c < C; ++c) var += (x[r * C + c] - mu) * (x[r * C + c] - mu);
    const double rs = 1.0 / std::sqrt(var / static_cast<double>(C) + kEps);
    if (mean != nullptr) mean->push_back(mu);
    if (rstd != nullptr) rstd->push_back(rs);
    for (std::int64_t c = 0; c < C; ++c) {
      y[r * C + c] = (x[r * C + c] - mu) * rs * w[c] + (b.empty() ? 0.0 : b[c]);
    }
  }
  return y;
}

struct Shape {
  std::int64_t rows;
  std::int64_t C;
};

// Odd sizes hit the vector tails of every ISA (8 and 16 lanes) and the 4-accumulator unroll.
const Shape kShapes[] = {{1, 1}, {3, 7}, {2, 16}, {5, 37}, {4, 64}, {3, 100}, {2, 385}};

TEST(RmsNorm, ForwardMatchesDoubleReference) {
  for (const Shape& s : kShapes) {
    const auto x = random_floats(s.rows * s.C, 1, -2.0f, 2.0f);
    const auto w = random_floats(s.C, 2, 0.5f, 1.5f);
    std::vector<float> y(x.size());
    std::vector<float> rstd(static_cast<std::size_t>(s.rows));
    rmsnorm_forward(DType::f32, s.rows, s.C, x.data(), w.data(), kEps, y.data(), rstd.data());
    std::vector<double> rstd_ref;
    const auto y_ref = rmsnorm_reference(s.rows, s.C, to_double(x), to_double(w), &rstd_ref);
    const std::string where = "rows=" + std::to_string(s.rows) + " C=" + std::to_string(s.C);
    expect_close(y, y_ref, 1e-5, 1e-6, "y " + where);
    expect_close(rstd, rstd_ref, 1e-5, 0.0, "rstd " + where);
  }
}

TEST(RmsNorm, ForwardInPlaceAndWithoutSavedRstd) {
  const std::int64_t rows = 3, C = 37;
  auto x = random_floats(rows * C, 3);
  const auto w = random_floats(C, 4);
  const auto y_ref = rmsnorm_reference(rows, C, to_double(x), to_double(w));
  rmsnorm_forward(DType::f32, rows, C, x.data(), w.data(), kEps, x.data(), nullptr);
  expect_close(x, y_ref, 1e-5, 1e-6, "in-place y");
}

TEST(RmsNorm, BackwardMatchesFiniteDifferences) {
  for (const Shape& s : {Shape{3, 37}, Shape{2, 16}, Shape{4, 5}}) {
    const auto x = random_floats(s.rows * s.C, 5, -2.0f, 2.0f);
    const auto w = random_floats(s.C, 6, 0.5f, 1.5f);
    const auto dy = random_floats(s.rows * s.C, 7);
    std::vector<float> y(x.size()), rstd(static_cast<std::size_t>(s.rows)), dx(x.size());
    rmsnorm_forward(DType::f32, s.rows, s.C, x.data(), w.data(), kEps, y.data(), rstd.data());
    // dweight accumulates: start from a known value.
    std::vector<float> dweight(static_cast<std::size_t>(s.C), 0.25f);
    rmsnorm_backward(DType::f32, s.rows, s.C, x.data(), w.data(), rstd.data(), dy.data(), dx.data(), dweight.data());

    const auto xd = to_double(x), wd = to_double(w), dyd = to_double(dy);
    const auto dx_fd = finite_difference_grad(
        [&](const std::vector<double>& xv) { return rmsnorm_reference(s.rows, s.C, xv, wd); }, xd, dyd);
    auto dw_fd = finite_difference_grad(
        [&](const std::vector<double>& wv) { return rmsnorm_reference(s.rows, s.C, xd, wv); }, wd, dyd);
    for (double& v : dw_fd) v += 0.25;
    const std::string where = "rows=" + std::to_string(s.rows) + " C=" + std::to_string(s.C);
    expect_close(dx, dx_fd, 1e-4, 1e-5 * max_abs(dx_fd), "dx " + where);
    expect_close(dweight, dw_fd, 1e-4, 1e-5 * max_abs(dw_fd), "dweight " + where);
  }
}

TEST(RmsNorm, BackwardInPlaceOverDy) {
  const std::int64_t rows = 3, C = 21;
  const auto x = random_floats(rows * C, 8);
  const auto w = random_floats(C, 9);
  auto dy = random_floats(rows * C, 10);
  std::vector<float> y(x.size()), rstd(rows), dx(x.size()), dw1(C, 0.0f), dw2(C, 0.0f);
  rmsnorm_forward(DType::f32, rows, C, x.data(), w.data(), kEps, y.data(), rstd.data());
  rmsnorm_backward(DType::f32, rows, C, x.data(), w.data(), rstd.data(), dy.data(), dx.data(), dw1.data());
  rmsnorm_backward(DType::f32, rows, C, x.data(), w.data(), rstd.data(), dy.data(), dy.data(), dw2.data());
  EXPECT_EQ(dy, dx);
  EXPECT_EQ(dw1, dw2);
}

// The weight gradient is reduced over a row split that depends only on the shape.
TEST(RmsNorm, WeightGradientIndependentOfThreadCount) {
  const std::int64_t rows = 300, C = 48;
  const auto x = random_floats(rows * C, 11);
  const auto w = random_floats(C, 12);
  const auto dy = random_floats(rows * C, 13);
  std::vector<float> y(x.size()), rstd(rows);
  rmsnorm_forward(DType::f32, rows, C, x.data(), w.data(), kEps, y.data(), rstd.data());
  const int threads = core::num_threads();
  std::vector<std::vector<float>> dweights;
  for (int t : {1, 2, 3}) {
    core::set_num_threads(t);
    std::vector<float> dx(x.size()), dw(C, 0.0f);
    rmsnorm_backward(DType::f32, rows, C, x.data(), w.data(), rstd.data(), dy.data(), dx.data(), dw.data());
    dweights.push_back(dw);
  }
  core::set_num_threads(threads);
  EXPECT_EQ(dweights[0], dweights[1]);
  EXPECT_EQ(dweights[0], dweights[2]);
}

TEST(LayerNorm, ForwardMatchesDoubleReference) {
  for (const Shape& s : kShapes) {
    for (bool with_bias : {true, false}) {
      // An offset mean checks that the variance does not cancel.
      const auto x = random_floats(s.rows * s.C, 14, 9.0f, 11.0f);
      const auto w = random_floats(s.C, 15, 0.5f, 1.5f);
      const auto b = with_bias ? random_floats(s.C, 16) : std::vector<float>{};
      std::vector<float> y(x.size()), mean(s.rows), rstd(s.rows);
      layernorm_forward(DType::f32, s.rows, s.C, x.data(), w.data(), with_bias ? b.data() : nullptr, kEps, y.data(),
                        mean.data(), rstd.data());
      std::vector<double> mean_ref, rstd_ref;
      const auto y_ref =
          layernorm_reference(s.rows, s.C, to_double(x), to_double(w), to_double(b), &mean_ref, &rstd_ref);
      const std::string where =
          "rows=" + std::to_string(s.rows) + " C=" + std::to_string(s.C) + (with_bias ? " bias" : " no bias");
      // x ~ 10 carries ~1e-6 absolute rounding into x - mean, i.e. ~2e-6 relative to unit y.
      expect_close(y, y_ref, 1e-5, 1e-5, "y " + where);
      expect_close(mean, mean_ref, 1e-6, 0.0, "mean " + where);
      expect_close(rstd, rstd_ref, 1e-5, 0.0, "rstd " + where);
    }
  }
}

TEST(LayerNorm, BackwardMatchesFiniteDifferences) {
  for (const Shape& s : {Shape{3, 37}, Shape{2, 16}, Shape{4, 5}}) {
    for (bool with_bias : {true, false}) {
      const auto x = random_floats(s.rows * s.C, 17, -2.0f, 2.0f);
      const auto w = random_floats(s.C, 18, 0.5f, 1.5f);
      const auto b = random_floats(s.C, 19);
      const auto dy = random_floats(s.rows * s.C, 20);
      std::vector<float> y(x.size()), mean(s.rows), rstd(s.rows), dx(x.size());
      layernorm_forward(DType::f32, s.rows, s.C, x.data(), w.data(), b.data(), kEps, y.data(), mean.data(),
                        rstd.data());
      std::vector<float> dweight(s.C, -0.5f), dbias(s.C, 0.125f);
      layernorm_backward(DType::f32, s.rows, s.C, x.data(), w.data(), mean.data(), rstd.data(), dy.data(), dx.data(),
                         dweight.data(), with_bias ? dbias.data() : nullptr);

      const auto xd = to_double(x), wd = to_double(w), bd = to_double(b), dyd = to_double(dy);
      const auto dx_fd = finite_difference_grad(
          [&](const std::vector<double>& v) { return layernorm_reference(s.rows, s.C, v, wd, bd); }, xd, dyd);
      auto dw_fd = finite_difference_grad(
          [&](const std::vector<double>& v) { return layernorm_reference(s.rows, s.C, xd, v, bd); }, wd, dyd);
      auto db_fd = finite_difference_grad(
          [&](const std::vector<double>& v) { return layernorm_reference(s.rows, s.C, xd, wd, v); }, bd, dyd);
      for (double& v : dw_fd) v += -0.5;
      for (double& v : db_fd) v += 0.125;
      const std::string where = "rows=" + std::to_string(s.rows) + " C=" + std::to_string(s.C);
      expect_close(dx, dx_fd, 1e-4, 1e-5 * max_abs(dx_fd), "dx " + where);
      expect_close(dweight, dw_fd, 1e-4, 1e-5 * max_abs(dw_fd), "dweight " + where);
      if (with_bias) {
        expect_close(dbias, db_fd, 1e-4, 1e-5 * max_abs(db_fd), "dbias " + where);
      } else {
        EXPECT_EQ(dbias, std::vector<float>(s.C, 0.125f)) << "dbias must be untouched when null";
      }
    }
  }
}

TEST(LayerNorm, GradientsIndependentOfThreadCount) {
  const std::int64_t rows = 257, C = 33;
  const auto x = random_floats(rows * C, 21);
  const auto w = random_floats(C, 22);
  const auto dy = random_floats(rows * C, 23);
  std::vector<float> y(x.size()), mean(rows), rstd(rows);
  layernorm_forward(DType::f32, rows, C, x.data(), w.data(), nullptr, kEps, y.data(), mean.data(), rstd.data());
  const int threads = core::num_threads();
  std::vector<std::vector<float>> results;
  for (int t : {1, 2, 3}) {
    core::set_num_threads(t);
    std::vector<float> dx(x.size()), dw(C, 0.0f), db(C, 0.0f);
    layernorm_backward(DType::f32, rows, C, x.data(), w.data(), mean.data(), rstd.data(), dy.data(), dx.data(),
                       dw.data(), db.data());
    dw.insert(dw.end(), db.begin(), db.end());
    dw.insert(dw.end(), dx.begin(), dx.end());
    results.push_back(dw);
  }
  core::set_num_threads(threads);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(Norm, ZeroRowsIsANoOp) {
  std::vector<float> w(4, 1.0f), dw(4, 2.0f);
  rmsnorm_forward(DType::f32, 0, 4, nullptr, w.data(), kEps, nullptr, nullptr);
  rmsnorm_backward(DType::f32, 0, 4, nullptr, w.data(), nullptr, nullptr, nullptr, dw.data());
  EXPECT_EQ(dw, std::vector<float>(4, 2.0f));
}

TEST(Norm, UnsupportedDtypeNamesIt) {
  std::vector<float> x(8, 1.0f), w(4, 1.0f), y(8);
  try {
    rmsnorm_forward(DType::bf16, 2, 4, x.data(), w.data(), kEps, y.data(), nullptr);
    FAIL() << "expected an error";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rmsnorm_forward"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(layernorm_backward(DType::f16, 2, 4, x.data(), w.data(), x.data(), x.data(), x.data(), y.data(),
                                  w.data(), nullptr),
               core::Error);
}

}  // namespace
}  // namespace sieve::kernels::cpu
