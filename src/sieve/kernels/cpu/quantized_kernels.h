// The per-ISA inner loops behind quantized_linear.h: one table of function pointers per
// instruction set (quantized_kernels.cpp picks it from core::cpu_features()). Internal to the
// quantized linear files; letters as in quantized_linear.h (N rows of x, K, M, G).
#pragma once

#include <cstddef>
#include <cstdint>

#include "sieve/core/allocator.h"

namespace sieve::kernels::cpu {

// Bytes of K an Int8Weight row and a quantized x row are padded to (with zeros), so the int8
// GEMV runs whole vectors.
inline constexpr std::int64_t kInt8RowAlign = 64;
// Floats of K/2 a deinterleaved x row is padded to (with zeros) for the int4 GEMV.
inline constexpr std::int64_t kInt4HalfRowAlign = 16;
// Rows of x the GEMVs take at once; larger N is run in blocks of this many.
inline constexpr std::int64_t kGemvMaxRows = 4;

// y [N, M] = (qx [N, Kp] · qw [M, Kp]ᵀ) · xscale[n] · wscale[m] (+ bias[m]); N ≤ kGemvMaxRows,
// Kp a multiple of kInt8RowAlign, both zero padded past K.
struct Int8GemvArgs {
  std::int64_t N = 0, M = 0, Kp = 0;
  const std::int8_t* qx = nullptr;
  const float* xscale = nullptr;
  const std::int8_t* qw = nullptr;
  const float* wscale = nullptr;
  const float* bias = nullptr;  // may be null
  float* y = nullptr;           // row stride M
};

// y [N, M] = x · ŵᵀ (+ bias) with ŵ the INT4 weight of NOTE [Quantization formats];
// N ≤ kGemvMaxRows. x is given deinterleaved: xe[n, j] = x[n, 2j], xo[n, j] = x[n, 2j + 1], rows
// of x_stride floats (a multiple of kInt4HalfRowAlign ≥ ceil(K/2)), zero past K. The kernel sums
// nibble · x and takes 8 · Σx off once per group, so x comes with its group sums.
struct Int4GemvArgs {
  std::int64_t N = 0, M = 0, K = 0, G = 0;
  const float* xe = nullptr;
  const float* xo = nullptr;
  std::int64_t x_stride = 0;
  const float* xsum = nullptr;  // [N, ceil(K/G)]: Σ x[n, k] over group g
  const std::uint8_t* packed = nullptr;
  const float* scales = nullptr;
  const float* bias = nullptr;  // may be null
  float* y = nullptr;           // row stride M
};

struct QuantizedKernels {
  // Rows [begin, end) of quantize_rows_int8 (static_scale == 0) or, with static_scale > 0,
  // q = clamp(round(x / static_scale)) with scales[r] = static_scale. q rows are q_stride apart.
  void (*quantize_rows_int8)(std::int64_t begin, std::int64_t end, std::int64_t cols, const float* x,
                             std::int8_t* q, std::int64_t q_stride, float* scales, float static_scale);
  // Output columns m ∈ [begin, end) of the int8 GEMV.
  void (*int8_gemv)(const Int8GemvArgs& args, std::int64_t begin, std::int64_t end);
  // out [count] = (float) q [count]: INT8 values as exact f32 for the f32 GEMM.
  void (*int8_to_f32)(std::int64_t count, const std::int8_t* q, float* out);
  // Output columns m ∈ [begin, end) of the int4 GEMV.
  void (*int4_gemv)(const Int4GemvArgs& args, std::int64_t begin, std::int64_t end);
  // out [rows, K] = ŵ[m_begin .. m_begin + rows) in f32, rows of K floats.
  void (*int4_dequantize)(std::int64_t m_begin, std::int64_t rows, std::int64_t K, std::int64_t G,
                          const std::uint8_t* packed, const float* scales, float* out);
};

namespace avx512 {
const QuantizedKernels& quantized_kernels();
}
namespace avx2 {
const QuantizedKernels& quantized_kernels();
}

// The table for this CPU (SIEVE_ISA caps it).
const QuantizedKernels& quantized_kernels();

// A 64-byte aligned scratch array from the caching allocator, given back when it goes out of
// scope.
template <class T>
class ScratchArray {
 public:
  explicit ScratchArray(std::int64_t count)
      : bytes_(static_cast<std::size_t>(count > 0 ? count : 1) * sizeof(T)), data_(core::allocator().allocate(bytes_)) {}
  ~ScratchArray() { core::allocator().release(data_, bytes_); }
  ScratchArray(const ScratchArray&) = delete;
  ScratchArray& operator=(const ScratchArray&) = delete;
  T* data() const { return static_cast<T*>(data_); }

 private:
  std::size_t bytes_;
  void* data_;
};

}  // namespace sieve::kernels::cpu
