#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// table [V, C], ids int64 of any shape S → [S..., C]. An id outside [0, V) is an error
// naming the id. The gradient scatters into table rows.
Tensor embedding(const Tensor& table, const Tensor& ids);

}  // namespace sieve::ops
