// The numeric precision the ops compute in — the "precision policy" a trainer sets around its
// forward and backward passes (like torch.autocast, but explicit and scoped).
//
// NOTE [Precision policy]: parameters and their gradients stay f32 (the master weights); the
// policy decides only
//  * the compute dtype of matrix products (ops::linear, ops::matmul) and of attention's q·k and
//    p·v operands, and
//  * the dtype in which those ops keep the activations they save for backward.
// Norms, softmax, the loss and every reduction always accumulate in f32.
//
//   compute  how a product is formed                          output  saved operands
//   f32      oneDNN f32 GEMM                                  f32     f32 (or activation_storage)
//   bf16     operands cast to bf16, oneDNN bf16 GEMM with     f32     bf16
//            f32 accumulation (AVX512-BF16 where present)
//   f16      operands rounded to IEEE binary16, f32 GEMM:     f16-    f16
//            an emulation by conversion (no AVX512-FP16 path  rounded
//            yet); overflow to ±inf is real, so loss scaling
//            is needed exactly as on fp16 hardware
//   tf32     operands rounded to a 10-bit mantissa (TF32),    f32     f32
//            f32 GEMM: an emulation for numeric parity with
//            GPUs, never faster on a CPU
//
// A policy is set per thread with PrecisionScope; each op reads it when it runs forward and
// keeps what it read for its backward, so a backward pass computes in the precision its
// forward did even if it runs outside the scope.
#pragma once

#include <string_view>

#include "sieve/core/dtype.h"
#include "sieve/core/tensor.h"

namespace sieve::ops {

enum class ComputePrecision { f32, bf16, f16, tf32 };

struct PrecisionPolicy {
  ComputePrecision compute = ComputePrecision::f32;
  // The dtype of the activations that matrix products and attention save for backward. For
  // bf16 and f16 compute the saved operands are already rounded, so keeping them in that dtype
  // is exact and halves their memory; with f32 compute a bf16 store trades a little gradient
  // accuracy for memory.
  core::DType activation_storage = core::DType::f32;

  bool operator==(const PrecisionPolicy&) const = default;
};

// The policy whose saved operands match its compute dtype: {f32, f32}, {bf16, bf16},
// {f16, f16}, {tf32, f32}.
PrecisionPolicy default_policy(ComputePrecision compute);

std::string_view precision_name(ComputePrecision compute);  // "fp32", "bf16", "fp16", "tf32"
// "fp32" (or "f32"), "bf16", "fp16" (or "f16"), "tf32"; a core::UserError naming `flag` and the
// accepted values otherwise.
ComputePrecision parse_compute_precision(std::string_view text, std::string_view flag = "--precision");
// "fp32", "bf16+bf16 activations"-style one-line description for logs and metrics.
std::string describe(const PrecisionPolicy& policy);

// The policy in force on this thread (f32/f32 outside any scope).
const PrecisionPolicy& current_precision();

// Sets the thread's policy for its lifetime and restores the previous one after. Nests.
class PrecisionScope {
 public:
  explicit PrecisionScope(const PrecisionPolicy& policy);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  PrecisionPolicy previous_;
};

}  // namespace sieve::ops
