// Distillation-divergence row kernels, written once against a Simd traits type and instantiated
// per ISA: distillation_kl.cpp (scalar), distillation_kl_avx2.cpp, distillation_kl_avx512.cpp.
// Shapes as in distillation_kl.h; every function handles rows [begin, end); z = logits · inv_t.
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/simd_loops.h"

namespace sieve::kernels::cpu {

struct DistillationKlRowKernels {
  // lse of both rows' z, and kl[r] = Σ p_t · ((z_t − z_s) − (lse_t − lse_s)).
  void (*forward)(std::int64_t begin, std::int64_t end, std::int64_t V, const float* student, const float* teacher,
                  float inv_t, float* student_lse, float* teacher_lse, float* kl);
  // dstudent = scale · (exp(z_s − lse_s) − exp(z_t − lse_t)).
  void (*backward)(std::int64_t begin, std::int64_t end, std::int64_t V, const float* student, const float* teacher,
                   float inv_t, const float* student_lse, const float* teacher_lse, float scale, float* dstudent);
};

namespace avx512 {
DistillationKlRowKernels distillation_kl_row_kernels();
}
namespace avx2 {
DistillationKlRowKernels distillation_kl_row_kernels();
}

// logsumexp of x · inv_t (inv_t > 0, so its max is inv_t · max x).
template <class S>
float scaled_logsumexp(const float* x, std::int64_t V, float inv_t) {
  using F = typename S::F;
  const float m = row_max<S>(x, V) * inv_t;
  const F k = S::set1(inv_t), shift = S::set1(m);
  const F acc = fold_vectors<S>(
      V, S::zero(),
      [&](F a, std::int64_t i, std::int64_t len) {
        // Tail lanes load -inf so they contribute exp(-inf) = 0.
        return S::add(a, S::exp(S::sub(S::mul(load_n<S>(x + i, len, -__builtin_inff()), k), shift)));
      },
      [](F a, F b) { return S::add(a, b); });
  return m + S::log(S::reduce_add(acc));
}

template <class S>
void distillation_kl_forward_rows(std::int64_t begin, std::int64_t end, std::int64_t V, const float* student,
                                  const float* teacher, float inv_t, float* student_lse, float* teacher_lse,
                                  float* kl) {
  using F = typename S::F;
  const float lowest = -__builtin_inff();
  const F k = S::set1(inv_t);
  for (std::int64_t r = begin; r < end; ++r) {
    const float* sr = student + r * V;  // [V]
    const float* tr = teacher + r * V;  // [V]
    student_lse[r] = scaled_logsumexp<S>(sr, V, inv_t);
    teacher_lse[r] = scaled_logsumexp<S>(tr, V, inv_t);
    const F lse_t = S::set1(teacher_lse[r]), gap = S::set1(teacher_lse[r] - student_lse[r]);
    const F acc = fold_vectors<S>(
        V, S::zero(),
        [&](F a, std::int64_t i, std::int64_t len) {
          // Tail lanes: p_t loads -inf (p_t = 0) and the log-ratio loads 0 (finite), so they add 0.
          const F pt = S::exp(S::sub(S::mul(load_n<S>(tr + i, len, lowest), k), lse_t));
          const F zt = S::mul(load_n<S>(tr + i, len), k);
          const F zs = S::mul(load_n<S>(sr + i, len), k);
          return S::fmadd(pt, S::sub(S::sub(zt, zs), gap), a);
        },
        [](F a, F b) { return S::add(a, b); });
    kl[r] = S::reduce_add(acc);
  }
}

template <class S>
void distillation_kl_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t V, const float* student,
                                   const float* teacher, float inv_t, const float* student_lse,
                                   const float* teacher_lse, float scale, float* dstudent) {
  using F = typename S::F;
  const F k = S::set1(inv_t), scale_v = S::set1(scale);
  for (std::int64_t r = begin; r < end; ++r) {
    const float* sr = student + r * V;  // [V]
    const float* tr = teacher + r * V;  // [V]
    float* dr = dstudent + r * V;       // [V]
    const F lse_s = S::set1(student_lse[r]), lse_t = S::set1(teacher_lse[r]);
    // Each element is read before it is written, so dstudent may be student.
    for_each_vector<S>(V, [&](std::int64_t i, std::int64_t len) {
      const F ps = S::exp(S::sub(S::mul(load_n<S>(sr + i, len), k), lse_s));
      const F pt = S::exp(S::sub(S::mul(load_n<S>(tr + i, len), k), lse_t));
      store_n<S>(dr + i, S::mul(S::sub(ps, pt), scale_v), len);
    });
  }
}

template <class S>
DistillationKlRowKernels make_distillation_kl_row_kernels() {
  return {&distillation_kl_forward_rows<S>, &distillation_kl_backward_rows<S>};
}

}  // namespace sieve::kernels::cpu
