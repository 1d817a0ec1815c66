// Batched GEMM on the CPU through oneDNN. oneDNN stays an implementation detail: nothing in
// this header names it, so callers do not inherit its headers or build flags.
//
// Shape letters: B batch, M rows of C, N columns of C, K the contracted dimension.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// Describes one GEMM. All operands are dense and row-major; the transposes are expressed by
// strides, never by copying.
struct MatmulSpec {
  core::DType a_dtype = core::DType::f32;
  core::DType b_dtype = core::DType::f32;
  core::DType c_dtype = core::DType::f32;
  std::int64_t batch = 1, m = 0, n = 0, k = 0;
  bool trans_a = false;      // A stored [B, K, M] and used transposed.
  bool trans_b = false;      // B stored [B, N, K] and used transposed (nn.Linear weight [out, in]).
  bool accumulate = false;   // C += A·B instead of C = A·B (gradient accumulation into .grad).
  bool broadcast_b = false;  // B has no batch dimension: one [K, N] (or [N, K]) for all batches.

  bool operator==(const MatmulSpec&) const = default;
};

// C[B, M, N] = op(A)[B, M, K] · op(B)[B, K, N]   (+ C if spec.accumulate)
//
// Supported dtypes: A and B both f32 or both bf16; C f32 or bf16. bf16 inputs accumulate in f32
// on every CPU: where oneDNN has no bf16 GEMM (AVX2), they are widened to f32 exactly and the
// f32 GEMM runs instead, which gives the same numbers up to summation order (see
// matmul_bf16_is_native). Anything else fails a SIEVE_CHECK naming the dtypes.
// With k == 0 the product is zero: C is zeroed, or left as is when accumulating.
// Thread-safe: concurrent calls may share a cached primitive. Runs on core::num_threads()
// OpenMP threads.
void matmul(const MatmulSpec& spec, const void* a, const void* b, void* c);

// Whether bf16 products run in a bf16 GEMM on this CPU (oneDNN on AVX-512, natively with
// AVX512-BF16) rather than widened to f32 — the latter is never faster than f32 compute.
// Respects ONEDNN_MAX_CPU_ISA. Decided once per process.
bool matmul_bf16_is_native();

}  // namespace sieve::kernels::cpu
