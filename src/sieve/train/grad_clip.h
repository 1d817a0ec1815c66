#pragma once

#include <vector>

#include "sieve/core/tensor.h"

namespace sieve::train {

// Global L2 norm of the parameters' gradients (those that have one).
double gradient_norm(const std::vector<core::Tensor>& parameters);
// Scales every gradient by max_norm / norm when the norm exceeds max_norm (max_norm <= 0:
// no clipping). Returns the norm before clipping.
double clip_gradient_norm(const std::vector<core::Tensor>& parameters, double max_norm);

}  // namespace sieve::train
