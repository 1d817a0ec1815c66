#pragma once

#include <cstdint>

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// Zeroes each element with probability p and scales the rest by 1/(1−p). The mask comes from
// a counter-based generator keyed by `seed`, so it does not depend on the thread count.
// Identity when p == 0.
Tensor dropout(const Tensor& x, float p, std::uint64_t seed);

}  // namespace sieve::ops
