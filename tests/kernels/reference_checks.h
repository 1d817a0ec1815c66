// Helpers for the kernel tests that compare against naive double-precision references: random
// inputs, an elementwise closeness check that reports the worst element, and gradients by
// central finite differences of a double reference.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace sieve::kernels::testing {

inline std::vector<float> random_floats(std::int64_t count, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& v : values) v = dist(rng);
  return values;
}

inline std::vector<double> to_double(const std::vector<float>& values) {
  return std::vector<double>(values.begin(), values.end());
}

// Expects |actual[i] - expected[i]| <= atol + rtol * |expected[i]| everywhere; on failure
// reports how many elements failed and the worst one.
inline void expect_close(const std::vector<float>& actual, const std::vector<double>& expected, double rtol,
                         double atol, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  std::size_t failures = 0;
  std::size_t worst = 0;
  double worst_excess = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(static_cast<double>(actual[i]) - expected[i]);
    const double allowed = atol + rtol * std::abs(expected[i]);
    const bool bad = !(error <= allowed);  // NaN counts as a failure
    if (bad) {
      ++failures;
      const double excess = std::isnan(error) ? INFINITY : error / allowed;
      if (excess > worst_excess || failures == 1) {
        worst_excess = excess;
        worst = i;
      }
    }
  }
  EXPECT_EQ(failures, 0u) << what << ": worst at [" << worst << "] actual " << actual[worst] << " expected "
                          << expected[worst] << " (rtol " << rtol << ", atol " << atol << ")";
}

// Largest |value|, to scale absolute tolerances.
inline double max_abs(const std::vector<double>& values) {
  double m = 0.0;
  for (double v : values) m = std::max(m, std::abs(v));
  return m;
}

// d/dx_i of L(x) = sum_j weights[j] * f(x)[j], by central differences with step h * max(1, |x_i|).
// In double with h ~ 1e-5 the truncation and rounding errors are both far below f32 precision.
inline std::vector<double> finite_difference_grad(
    const std::function<std::vector<double>(const std::vector<double>&)>& f, std::vector<double> x,
    const std::vector<double>& weights, double h = 1e-5) {
  const auto loss = [&](const std::vector<double>& at) {
    const std::vector<double> y = f(at);
    double total = 0.0;
    for (std::size_t j = 0; j < y.size(); ++j) total += weights[j] * y[j];
    return total;
  };
  std::vector<double> grad(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double original = x[i];
    const double step = h * std::max(1.0, std::abs(original));
    x[i] = original + step;
    const double up = loss(x);
    x[i] = original - step;
    const double down = loss(x);
    x[i] = original;
    grad[i] = (up - down) / (2.0 * step);
  }
  return grad;
}

}  // namespace sieve::kernels::testing
