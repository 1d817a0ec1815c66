// A small, fast, serialisable random generator (xoshiro256**, seeded by SplitMix64). Its whole
// state is four words, so a checkpoint can store it and a resumed run continues the exact
// same random stream.
#pragma once

#include <array>
#include <cstdint>

namespace sieve::core {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }
  void reseed(std::uint64_t seed);

  std::uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform();
  // Uniform integer in [0, bound), unbiased.
  std::uint64_t below(std::uint64_t bound);
  // Standard normal (Box–Muller, one value per draw so the state stays four words).
  double normal();

  State state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  State state_{};
};

// SplitMix64 step: a good 64-bit mixer, also handy for counter-based randomness.
std::uint64_t splitmix64(std::uint64_t& x);

}  // namespace sieve::core
