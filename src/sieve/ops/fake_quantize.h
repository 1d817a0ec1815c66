// Fake quantization with the straight-through estimator (Bengio et al., 2013), the forward of
// quantization-aware training: y = the quantize-dequantize image of x (kernels/cpu/
// fake_quantize.h), dy passed to x unchanged. The scales come from the values themselves (max
// |x| of each group), so no value is ever clipped and the estimator needs no clipping mask;
// the scales receive no gradient.
// Letters: R rows (output channels of a weight, or tokens of an activation), C columns.
#pragma once

#include <cstdint>

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// x [..., C] (f32) → same shape; groups of `group` consecutive elements along the last
// dimension (0: the whole row), each with its own symmetric scale max|x| / qmax.
//   weights, INT8 per output channel:  fake_quantize(w, 0, 127)
//   weights, INT4 in groups of G:      fake_quantize(w, G, 7)
//   activations, INT8 per token:       fake_quantize(x, 0, 127)
Tensor fake_quantize(const Tensor& x, std::int64_t group, int qmax);

}  // namespace sieve::ops
