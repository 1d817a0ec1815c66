// The quantized products of quantized_linear.h with the algorithm picked by the caller rather
// than by N and the CPU, so tests can check every path on any machine. Internal.
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/quantized_linear.h"

namespace sieve::kernels::cpu::detail {

enum class QuantizedPath {
  automatic,  // what the public functions do
  gemv,       // the GEMV, run kGemvMaxRows rows of x at a time
  panels,     // f32 panels in the f32 GEMM (exact int32 sums for INT8: K in chunks of ≤ 1024)
  onednn,     // INT8 only: oneDNN's s8·s8 GEMM on the prepacked weight; panels where oneDNN has
              // no exact one (no AVX512-VNNI: NOTE [INT8 GEMM on AVX2] in int8_linear.cpp)
};

void int8_linear(QuantizedPath path, std::int64_t N, const float* x, const Int8Activation& activation,
                 const Int8Weight& weight, const float* bias, float* y);

void int4_linear(QuantizedPath path, std::int64_t N, std::int64_t M, std::int64_t K, std::int64_t G,
                 const float* x, const std::uint8_t* packed, const float* scales, const float* bias, float* y);

}  // namespace sieve::kernels::cpu::detail
