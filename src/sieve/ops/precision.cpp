#include "sieve/ops/precision.h"

#include <fmt/format.h>

#include "sieve/core/error.h"
#include "sieve/ops/precision_cast.h"

namespace sieve::ops {
namespace {

thread_local PrecisionPolicy t_policy;

}  // namespace

PrecisionPolicy default_policy(ComputePrecision compute) {
  switch (compute) {
    case ComputePrecision::bf16: return {compute, core::DType::bf16};
    case ComputePrecision::f16: return {compute, core::DType::f16};
    case ComputePrecision::f32:
    case ComputePrecision::tf32: return {compute, core::DType::f32};
  }
  return {};
}

std::string_view precision_name(ComputePrecision compute) {
  switch (compute) {
    case ComputePrecision::f32: return "fp32";
    case ComputePrecision::bf16: return "bf16";
    case ComputePrecision::f16: return "fp16";
    case ComputePrecision::tf32: return "tf32";
  }
  return "?";
}

ComputePrecision parse_compute_precision(std::string_view text, std::string_view flag) {
  if (text == "fp32" || text == "f32") return ComputePrecision::f32;
  if (text == "bf16") return ComputePrecision::bf16;
  if (text == "fp16" || text == "f16") return ComputePrecision::f16;
  if (text == "tf32") return ComputePrecision::tf32;
  core::throw_user_error("{}: unknown precision '{}' (expected fp32, bf16, fp16 or tf32)", flag, text);
}

std::string describe(const PrecisionPolicy& policy) {
  std::string text(precision_name(policy.compute));
  if (policy.activation_storage != default_policy(policy.compute).activation_storage)
    text += fmt::format(" ({} activations)", core::dtype_name(policy.activation_storage));
  return text;
}

const PrecisionPolicy& current_precision() { return t_policy; }

PrecisionScope::PrecisionScope(const PrecisionPolicy& policy) : previous_(t_policy) {
  SIEVE_CHECK(policy.activation_storage == core::DType::f32 || policy.activation_storage == core::DType::bf16 ||
                  policy.activation_storage == core::DType::f16,
              "PrecisionScope: activation storage must be f32, bf16 or f16, got {}",
              core::dtype_name(policy.activation_storage));
  t_policy = policy;
}

PrecisionScope::~PrecisionScope() {
  t_policy = previous_;
  detail::clear_cast_cache();
}

}  // namespace sieve::ops
