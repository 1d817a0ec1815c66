// How the ops apply the precision policy (ops/precision.h) to their operands: the casts and
// roundings before a product, the form an operand is saved in for backward, and the way back.
// Internal to the ops layer.
#pragma once

#include "sieve/core/tensor.h"
#include "sieve/ops/precision.h"

namespace sieve::ops::detail {

// An f32 operand made ready for a product under a policy.
struct PreparedOperand {
  core::Tensor compute;  // what the kernel reads: bf16 for bf16 compute, else f32 (rounded for f16, tf32)
  core::Tensor saved;    // what backward keeps (undefined unless asked for)
};

// `x` must be a contiguous f32 tensor. For f32 compute with f32 storage this is `x` itself (no
// copy). An activation (a tensor produced by a recorded op) is cast once per PrecisionScope
// however many products read it — the q, k and v projections share their input's cast.
PreparedOperand prepare_operand(const core::Tensor& x, const PrecisionPolicy& policy, bool keep_saved);

// The compute form of an operand saved by prepare_operand (a no-op when it was saved as such).
core::Tensor restore_operand(const core::Tensor& saved, ComputePrecision compute);

// Kernels that compute only in f32 (attention) take their operands on the compute dtype's grid
// instead: `x` (contiguous f32) rounded to bf16, binary16 or tf32 values, kept as f32; `x`
// itself for f32 compute.
core::Tensor round_to_compute(const core::Tensor& x, ComputePrecision compute);

// `x` converted to `dtype` (`x` itself when it already is): saving in the storage dtype and
// reading it back.
core::Tensor cast_to(const core::Tensor& x, core::DType dtype);

// The dtype GEMM operands have under `compute` (bf16 for bf16, else f32).
core::DType gemm_dtype(ComputePrecision compute);

// A product's f32 result (or gradient) in the policy's output precision: f16 compute rounds it
// to binary16 in place — values past 65504 become ±inf, as on fp16 hardware; other policies
// keep f32.
void round_result(const core::Tensor& y, ComputePrecision compute);

// Drops the per-scope cast cache (PrecisionScope does this when it ends).
void clear_cast_cache();

}  // namespace sieve::ops::detail
