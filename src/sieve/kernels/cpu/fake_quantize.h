// Fake quantization for quantization-aware training: each value is replaced by its symmetric
// quantize-dequantize image, in f32, with the same scales and rounding the real quantized
// kernels use (NOTE [Quantization formats] in kernels/cpu/quantized_linear.h), so a
// fake-quantized forward computes what the quantized model will.
//
// Shapes: x, y [rows, cols]; each row is cut into groups of `group` consecutive columns (the
// last one may be shorter); group == cols gives one scale per row.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// For each group: scale = max |x| / qmax (1 for an all-zero group), then
//   y = scale · clamp(round(x / scale), −qmax, qmax),
// rounding half away from zero. qmax 127 is INT8, 7 is INT4. y may alias x.
void fake_quantize_groups(std::int64_t rows, std::int64_t cols, std::int64_t group, int qmax, const float* x,
                          float* y);

}  // namespace sieve::kernels::cpu
