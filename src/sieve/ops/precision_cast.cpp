#include "sieve/ops/precision_cast.h"

#include <array>
#include <memory>

#include "sieve/core/error.h"
#include "sieve/kernels/cpu/convert.h"
#include "sieve/kernels/cpu/tf32.h"

namespace sieve::ops::detail {
namespace {

using core::DType;
using core::Tensor;

// f32 → the rounded f32 values of `format` (bf16, binary16 or tf32).
Tensor rounded_copy(const Tensor& x, ComputePrecision compute) {
  Tensor out = Tensor::empty(x.shape());
  if (compute == ComputePrecision::tf32) {
    kernels::cpu::round_to_tf32(x.numel(), x.data<float>(), out.data<float>());
  } else {
    const DType narrow = compute == ComputePrecision::bf16 ? DType::bf16 : DType::f16;
    Tensor half = Tensor::empty(x.shape(), narrow);
    kernels::cpu::convert(DType::f32, narrow, x.numel(), x.raw_data(), half.raw_data());
    kernels::cpu::convert(narrow, DType::f32, x.numel(), half.raw_data(), out.raw_data());
  }
  return out;
}

PreparedOperand prepare_uncached(const Tensor& x, const PrecisionPolicy& policy, bool keep_saved) {
  PreparedOperand prepared;
  switch (policy.compute) {
    case ComputePrecision::f32: prepared.compute = x; break;
    case ComputePrecision::bf16: prepared.compute = cast_to(x, DType::bf16); break;
    case ComputePrecision::f16:
    case ComputePrecision::tf32: prepared.compute = rounded_copy(x, policy.compute); break;
  }
  if (keep_saved) {
    // A bf16 operand is already exact in 16 bits; otherwise store as the policy says.
    const bool as_is = prepared.compute.dtype() == DType::bf16 || policy.activation_storage == DType::f32;
    prepared.saved = as_is ? prepared.compute : cast_to(prepared.compute, policy.activation_storage);
  }
  return prepared;
}

// NOTE [Cast cache]: a few most recent casts of activations, keyed by the source's storage
// (held weakly, so a freed source can never alias a new one), view and policy. Parameters are
// never cached: the optimizer updates them in place between steps.
struct CacheEntry {
  std::weak_ptr<core::Storage> storage;
  core::Shape shape, strides;
  std::int64_t offset = 0;
  PrecisionPolicy policy;
  bool has_saved = false;
  PreparedOperand prepared;

  bool matches(const Tensor& x, const PrecisionPolicy& p, bool keep_saved) const {
    return !storage.expired() && storage.lock() == x.impl().storage && shape == x.shape() && strides == x.strides() &&
           offset == x.offset() && policy == p && (has_saved || !keep_saved);
  }
};

constexpr std::size_t kCacheSize = 4;
thread_local std::array<CacheEntry, kCacheSize> t_cache;
thread_local std::size_t t_next = 0;

}  // namespace

Tensor cast_to(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = Tensor::empty(x.shape(), dtype);
  kernels::cpu::convert(x.dtype(), dtype, x.numel(), x.raw_data(), out.raw_data());
  return out;
}

Tensor round_to_compute(const Tensor& x, ComputePrecision compute) {
  if (compute == ComputePrecision::f32) return x;
  SIEVE_CHECK(x.dtype() == DType::f32 && x.is_contiguous(), "round_to_compute: needs a contiguous f32 tensor, got {}",
              core::dtype_name(x.dtype()));
  return rounded_copy(x, compute);
}

PreparedOperand prepare_operand(const Tensor& x, const PrecisionPolicy& policy, bool keep_saved) {
  if (policy.compute == ComputePrecision::f32 && policy.activation_storage == DType::f32)
    return {x, keep_saved ? x : Tensor()};
  SIEVE_CHECK(x.dtype() == DType::f32 && x.is_contiguous(), "prepare_operand: needs a contiguous f32 tensor, got {}",
              core::dtype_name(x.dtype()));
  const bool cacheable = x.grad_fn() != nullptr;
  if (cacheable) {
    for (const CacheEntry& entry : t_cache)
      if (entry.matches(x, policy, keep_saved)) return entry.prepared;
  }
  PreparedOperand prepared = prepare_uncached(x, policy, keep_saved);
  if (cacheable) {
    t_cache[t_next] = {x.impl().storage, x.shape(), x.strides(), x.offset(), policy, keep_saved, prepared};
    t_next = (t_next + 1) % kCacheSize;
  }
  return prepared;
}

Tensor restore_operand(const Tensor& saved, ComputePrecision compute) {
  const DType want = gemm_dtype(compute);
  if (saved.dtype() == want) return saved;
  Tensor restored = cast_to(saved, want);
  // A bf16-stored value may lie outside binary16's range: round it again. (bf16 values are on
  // tf32's grid already, and f16 storage under f16 compute is exact.)
  if (compute == ComputePrecision::f16 && saved.dtype() == DType::bf16) return rounded_copy(restored, compute);
  return restored;
}

DType gemm_dtype(ComputePrecision compute) {
  return compute == ComputePrecision::bf16 ? DType::bf16 : DType::f32;
}

void round_result(const Tensor& y, ComputePrecision compute) {
  if (compute != ComputePrecision::f16) return;
  SIEVE_CHECK(y.dtype() == DType::f32 && y.is_contiguous(), "round_result: needs a contiguous f32 tensor");
  Tensor half = Tensor::empty(y.shape(), DType::f16);
  kernels::cpu::convert(DType::f32, DType::f16, y.numel(), y.raw_data(), half.raw_data());
  kernels::cpu::convert(DType::f16, DType::f32, y.numel(), half.raw_data(), y.raw_data());
}

void clear_cast_cache() {
  t_cache = {};
  t_next = 0;
}

}  // namespace sieve::ops::detail
