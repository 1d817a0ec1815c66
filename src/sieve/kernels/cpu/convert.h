// Element type conversion of a contiguous array.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// dst[i] = (to) src[i] for i in [0, n). Supported pairs:
//  * any two of f32, bf16, f16 (and any dtype to itself, a plain copy);
//  * i8, u8, i32, i64 to and from f32.
// Rounding is to nearest, ties to even, everywhere a value does not fit exactly:
//  * f32 -> bf16 matches core::f32_to_bf16_bits bit for bit (subnormals kept, NaN stays NaN);
//  * f32 -> f16 is IEEE binary16 (overflow to inf, subnormals kept, NaN stays NaN);
//  * bf16 <-> f16 rounds once (through an exact f32);
//  * f32 -> integer rounds half to even, then saturates to the integer's range; NaN -> 0.
// src and dst must not overlap unless from == to and they are the same pointer. Large n runs
// on core::num_threads() threads. Unsupported pairs fail a SIEVE_CHECK naming both dtypes.
void convert(core::DType from, core::DType to, std::int64_t n, const void* src, void* dst);

}  // namespace sieve::kernels::cpu
