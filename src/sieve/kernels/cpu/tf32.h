// TF32 rounding: the operand format of NVIDIA's tensor-float-32 matrix units (f32's 8-bit
// exponent, a 10-bit mantissa). On the CPU it exists for numeric parity with GPU runs.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// dst[i] = src[i] rounded to the nearest value with a 10-bit mantissa (ties to even); ±inf and
// NaN pass through, a finite value that rounds past the largest finite one becomes ±inf, as in
// hardware. src == dst is allowed. Large n runs on core::num_threads() threads.
void round_to_tf32(std::int64_t n, const float* src, float* dst);

}  // namespace sieve::kernels::cpu
