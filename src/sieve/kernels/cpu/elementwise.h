// Elementwise kernels on raw arrays: binary and unary maps, scaling, fill, and the strided
// copy that makes a view contiguous.
//
// Contracts shared by every function here:
//  * Arrays are contiguous unless strides are given; strides and shapes count elements.
//  * An output may be the same pointer as an input (in place); partial overlap is not allowed.
//  * The arithmetic kernels are implemented for f32; other dtypes fail a SIEVE_CHECK naming
//    the dtype. fill and copy_strided work for every dtype.
//  * Large arrays run on core::num_threads() threads; AVX-512 is used when the CPU has it.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// Most dimensions a strided kernel accepts.
inline constexpr int kMaxStridedRank = 8;

// max and min propagate NaN (like torch.maximum / torch.minimum).
enum class BinaryOp { add, sub, mul, div, max, min };

// out[i] = a[i] op b[i] for i in [0, n).
void binary(BinaryOp op, core::DType dtype, std::int64_t n, const void* a, const void* b, void* out);

// Broadcasting form for the ops layer: out[idx] = a[idx · a_strides] op b[idx · b_strides] for
// every multi-index idx of out_shape (rank <= kMaxStridedRank; rank 0 is a single element).
// out is contiguous; a stride of 0 broadcasts that operand along the dimension. out may be the
// same pointer as an operand only if that operand's strides are out's own (contiguous).
void binary_strided(BinaryOp op, core::DType dtype, int rank, const std::int64_t* out_shape,
                    const std::int64_t* a_strides, const std::int64_t* b_strides, const void* a,
                    const void* b, void* out);

// sigmoid(x) = 1 / (1 + exp(-x)); rsqrt(x) = 1 / sqrt(x); reciprocal(x) = 1 / x.
enum class UnaryOp { neg, exp, log, sqrt, rsqrt, abs, tanh, sigmoid, square, reciprocal };

// out[i] = op(in[i]) for i in [0, n).
void unary(UnaryOp op, core::DType dtype, std::int64_t n, const void* in, void* out);

// out[i] = alpha * in[i].
void scale(core::DType dtype, std::int64_t n, float alpha, const void* in, void* out);

// y[i] += alpha * x[i].
void axpy(core::DType dtype, std::int64_t n, float alpha, const void* x, void* y);

// out[i] = value, converted once to dtype (rounded to nearest even; saturated for integers).
void fill(core::DType dtype, std::int64_t n, float value, void* out);

// dst[idx] = src[idx · src_strides] for every multi-index idx of shape (rank <=
// kMaxStridedRank), dst contiguous: makes a transposed, sliced or broadcast view contiguous.
// Strides may be zero or negative; src and dst must not overlap. Rows that are contiguous in
// src are copied with memcpy, and a view whose last two dimensions are transposed is copied
// in cache-sized tiles.
void copy_strided(core::DType dtype, int rank, const std::int64_t* shape, const std::int64_t* src_strides,
                  const void* src, void* dst);

}  // namespace sieve::kernels::cpu
