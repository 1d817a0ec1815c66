// The per-element AdamW loop, shared by adamw.cpp and its AVX-512 twin. Declarations only
// (no inline code), so per-ISA files may include it.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// The step's scalars, already combined and rounded to f32 (see adamw.cpp).
struct AdamWScalars {
  float decay;              // 1 - lr * weight_decay
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float bias2_sqrt;         // sqrt(1 - beta2^step)
  float eps;
  float neg_step_size;      // -lr / (1 - beta1^step)
};

using AdamWLoop = void (*)(const AdamWScalars& s, std::int64_t n, float* param, const float* grad, float* exp_avg,
                           float* exp_avg_sq);

namespace avx512 {
// Defined in adamw_avx512.cpp; call only when core::cpu_features().has_avx512().
void adamw_loop(const AdamWScalars& s, std::int64_t n, float* param, const float* grad, float* exp_avg,
                float* exp_avg_sq);
}  // namespace avx512

}  // namespace sieve::kernels::cpu
