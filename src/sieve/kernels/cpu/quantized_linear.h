// Quantized linear products on the CPU: INT8 weights with INT8 activations (Sieve's GEMV for
// decoding; for larger N oneDNN's s8·s8 GEMM where AVX512-VNNI makes it exact, else the f32 GEMM
// on the exact integers — NOTE [INT8 GEMM on AVX2] in int8_linear.cpp) and INT4 weight-only
// (Sieve's own GEMV/GEMM that dequantizes in registers). Weights are [M, K] row-major
// (PyTorch's Linear layout).
//
// Letters: N rows of x (tokens), K input features, M output features, G the INT4 group size.
//
// NOTE [Quantization formats]
// INT8 weight, per output channel, symmetric:  w[m, k] ≈ scale[m] · q[m, k],  q ∈ [−127, 127],
//   scale[m] = max_k |w[m, k]| / 127 (1 for an all-zero row).
// INT8 activation, symmetric, either per row of x (dynamic: computed from each token at run
//   time, the default) or one static scale for the whole tensor (from calibration); values
//   outside ±127·scale saturate.
// INT4 weight, per group of G consecutive k within a row, symmetric:
//   w[m, k] ≈ scale[m, g] · (nibble − 8),  g = k / G,  nibble ∈ [1, 15]  (so q ∈ [−7, 7]),
//   scale[m, g] = max |w| over the group / 7 (1 for an all-zero group).
//   Packed row by row, ceil(K / 2) bytes a row: byte j holds k = 2j in its low nibble and
//   k = 2j + 1 in its high nibble (the high nibble of the last byte of an odd-K row is 8, i.e.
//   zero). scales is [M, ceil(K / G)]; the last group of a row may be shorter than G.
// These are also the layouts model.safetensors stores (docs/compression.md).
#pragma once

#include <cstdint>
#include <memory>

namespace sieve::kernels::cpu {

// ---- INT8 -------------------------------------------------------------------------------------

// q[r, c] = clamp(round(x[r, c] / scale[r]), −127, 127) with scale[r] = max_c |x[r, c]| / 127
// (1 for an all-zero row). Rounds half away from zero. x [rows, cols] → q [rows, cols],
// scales [rows].
void quantize_rows_int8(std::int64_t rows, std::int64_t cols, const float* x, std::int8_t* q, float* scales);

// An INT8 weight [M, K] with its per-channel scales, prepared once for the products (rows
// padded for Sieve's GEMV, plus oneDNN's blocked layout where its s8·s8 GEMM is used — which
// doubles the memory there): build it at load time, not per call. Immutable and shareable
// between threads once built.
class Int8Weight {
 public:
  // q [M, K] and scales [M] as quantize_rows_int8 makes them; both are copied.
  Int8Weight(std::int64_t M, std::int64_t K, const std::int8_t* q, const float* scales);
  ~Int8Weight();
  Int8Weight(const Int8Weight&) = delete;
  Int8Weight& operator=(const Int8Weight&) = delete;

  std::int64_t out_features() const;  // M
  std::int64_t in_features() const;   // K

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// The bytes an Int8Weight [M, K] holds beyond the q and scales it was built from: its copy with
// rows padded to kInt8RowAlign and its scales, and where oneDNN runs the product, oneDNN's packed
// copy (counted at the padded size too: its blocked layout pads about as much). For a loader's
// memory check before anything is built; saturates at INT64_MAX.
std::int64_t int8_weight_bytes(std::int64_t M, std::int64_t K);

// How x is quantized for an INT8 product.
struct Int8Activation {
  bool dynamic = true;        // per row of x, from its own max |x|
  float static_scale = 0.0f;  // when !dynamic: one scale for every row (> 0)
};

// y [N, M] = dequant( quant(x) [N, K] · qᵀ [K, M] ) (+ bias [M] when non-null): the s8·s8
// products accumulate exactly in int32, then y[n, m] = acc · xscale[n] · wscale[m] (+ bias[m])
// in f32. x is f32 [N, K] row-major. Any N ≥ 0 (N = 1 is decoding). Runs on core::num_threads().
void int8_linear(std::int64_t N, const float* x, const Int8Activation& activation, const Int8Weight& weight,
                 const float* bias, float* y);

// ---- INT4 weight-only -------------------------------------------------------------------------

inline constexpr std::int64_t kInt4MinGroup = 32;
inline constexpr std::int64_t kInt4MaxGroup = 128;

// Packs w [M, K] into the INT4 layout of NOTE [Quantization formats]: packed [M, ceil(K/2)],
// scales [M, ceil(K/G)]. G is a multiple of 32 in [kInt4MinGroup, kInt4MaxGroup].
void quantize_int4(std::int64_t M, std::int64_t K, std::int64_t G, const float* w, std::uint8_t* packed,
                   float* scales);

// y [N, M] = x [N, K] · ŵᵀ (+ bias [M] when non-null) with ŵ the dequantized INT4 weight, x and y
// f32: the weight is expanded to f32 in registers and never stored whole. For small N
// (decoding) a GEMV streams the packed bytes once; for large N the weight is dequantized a
// panel at a time and multiplied by the f32 GEMM. Runs on core::num_threads().
void int4_linear(std::int64_t N, std::int64_t M, std::int64_t K, std::int64_t G, const float* x,
                 const std::uint8_t* packed, const float* scales, const float* bias, float* y);

}  // namespace sieve::kernels::cpu
