// max |a - b| / (atol + rtol·|b|) ≤ 1 over every element, as the golden tests compare logits.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "sieve/core/tensor.h"

namespace sieve::testing {

inline void expect_close(const core::Tensor& actual, const core::Tensor& expected, double rtol, double atol,
                         const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const auto a = actual.to_vector();
  const auto e = expected.to_vector();
  double worst = 0.0;
  std::size_t worst_at = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double ratio = std::abs(double(a[i]) - e[i]) / (atol + rtol * std::abs(double(e[i])));
    if (!(ratio <= worst)) {
      worst = ratio;
      worst_at = i;
    }
  }
  EXPECT_LE(worst, 1.0) << what << ": element " << worst_at << " is " << a[worst_at] << ", expected " << e[worst_at];
}

}  // namespace sieve::testing
