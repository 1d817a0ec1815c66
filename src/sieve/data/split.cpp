#include "sieve/data/split.h"

#include <cmath>

#include "sieve/core/error.h"
#include "sieve/core/rng.h"

namespace sieve::data {

void validate_split_options(const SplitOptions& options) {
  SIEVE_USER_CHECK(std::isfinite(options.val_fraction) && options.val_fraction >= 0.0 &&
                       options.val_fraction < 1.0,
                   "validation fraction {} is out of range (expected 0 <= fraction < 1)",
                   options.val_fraction);
}

Split assign_split(std::uint64_t document_index, const SplitOptions& options) {
  std::uint64_t state = options.seed;
  std::uint64_t key = core::splitmix64(state) ^ document_index;
  const std::uint64_t hash = core::splitmix64(key);
  const double u = static_cast<double>(hash >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  return u < options.val_fraction ? Split::validation : Split::train;
}

}  // namespace sieve::data
