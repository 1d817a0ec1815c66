// Helpers shared by the dense and sparse attention kernel tests: the instruction sets this CPU
// can run, their names for test traces, and the scale-relative error against a double reference.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/kernels/cpu/attention_causal.h"

namespace sieve::kernels::testing {

inline std::vector<cpu::AttentionIsa> available_isas() {
  std::vector<cpu::AttentionIsa> isas{cpu::AttentionIsa::portable};
  if (core::cpu_features().has_avx2()) isas.push_back(cpu::AttentionIsa::avx2);
  if (core::cpu_features().has_avx512()) isas.push_back(cpu::AttentionIsa::avx512);
  return isas;
}

inline std::string isa_label(cpu::AttentionIsa isa) {
  switch (isa) {
    case cpu::AttentionIsa::avx512: return "avx512";
    case cpu::AttentionIsa::avx2: return "avx2";
    case cpu::AttentionIsa::portable: return "portable";
  }
  return "?";
}

// max |got - want| / max(max |want|, floor): the error relative to the tensor's scale.
inline double scaled_error(const std::vector<float>& got, const std::vector<double>& want, double floor = 1e-3) {
  EXPECT_EQ(got.size(), want.size());
  double err = 0, mag = floor;
  for (std::size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(double(got[i]) - want[i]));
    if (std::isnan(got[i])) err = std::numeric_limits<double>::infinity();
    mag = std::max(mag, std::abs(want[i]));
  }
  return err / mag;
}

}  // namespace sieve::kernels::testing
