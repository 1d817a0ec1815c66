// Random inputs shared by the sparse-attention tests: standard normal floats, and scores that
// exercise the selection rules' edge cases.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace sieve::testing {

inline std::vector<float> normal_floats(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// Scores on a coarse grid (many ties), with a saturated one (σ = 1 in float) about every
// `one_in` values and a NaN as often.
inline std::vector<float> tied_scores(std::int64_t n, std::uint32_t seed, int one_in = 20) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> grid(-6, 6), kind(0, one_in - 1);
  std::vector<float> s(static_cast<std::size_t>(n));
  for (float& v : s) {
    const int k = kind(rng);
    v = k == 0 ? 40.0f : k == 1 ? std::numeric_limits<float>::quiet_NaN() : 0.5f * float(grid(rng));
  }
  return s;
}

}  // namespace sieve::testing
