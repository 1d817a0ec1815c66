#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// Rotary position embedding, HF LLaMA "rotate_half" convention, on x [B, T, H, D]; token t
// sits at position position_offset + t.
Tensor rope(const Tensor& x, std::int64_t position_offset, float theta);

}  // namespace sieve::ops
