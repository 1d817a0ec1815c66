// AVX-512 AdamW loop: the same operations, in the same order, as the portable loop in
// adamw.cpp, 16 elements at a time with a masked tail.
//
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm*_undefined_*()
// helpers once inlined (GCC bug 105593). The pragma is location-based, so scoping it to the
// header's lines silences that without hiding warnings in this file's code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "sieve/kernels/cpu/adamw_loops.h"

namespace sieve::kernels::cpu::avx512 {
namespace {

constexpr std::int64_t kWidth = 16;

__mmask16 tail_mask(std::int64_t remaining) {
  return remaining >= kWidth ? __mmask16(0xffff) : static_cast<__mmask16>((1u << remaining) - 1u);
}

// GCC may fuse a plain _mm512_mul_ps into a following _mm512_add_ps (they are generic vector
// operators to it); the explicit-rounding forms are opaque builtins, so every multiply and add
// rounds exactly where PyTorch's separate kernels do, and the FMAs are exactly the ones it has.
__m512 mul(__m512 a, __m512 b) { return _mm512_mul_round_ps(a, b, _MM_FROUND_CUR_DIRECTION); }
__m512 add(__m512 a, __m512 b) { return _mm512_add_round_ps(a, b, _MM_FROUND_CUR_DIRECTION); }

}  // namespace

void adamw_loop(const AdamWScalars& s, std::int64_t n, float* param, const float* grad, float* exp_avg,
                float* exp_avg_sq) {
  const __m512 decay = _mm512_set1_ps(s.decay);
  const __m512 beta1 = _mm512_set1_ps(s.beta1), one_minus_beta1 = _mm512_set1_ps(s.one_minus_beta1);
  const __m512 beta2 = _mm512_set1_ps(s.beta2), one_minus_beta2 = _mm512_set1_ps(s.one_minus_beta2);
  const __m512 bias2_sqrt = _mm512_set1_ps(s.bias2_sqrt), eps = _mm512_set1_ps(s.eps);
  const __m512 neg_step_size = _mm512_set1_ps(s.neg_step_size);
  for (std::int64_t i = 0; i < n; i += kWidth) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(mask, grad + i);
    __m512 p = _mm512_maskz_loadu_ps(mask, param + i);
    __m512 m = _mm512_maskz_loadu_ps(mask, exp_avg + i);
    __m512 v = _mm512_maskz_loadu_ps(mask, exp_avg_sq + i);
    p = mul(p, decay);
    m = _mm512_fmadd_ps(g, one_minus_beta1, mul(m, beta1));
    v = _mm512_fmadd_ps(mul(one_minus_beta2, g), g, mul(v, beta2));
    const __m512 denom = add(_mm512_div_ps(_mm512_sqrt_ps(v), bias2_sqrt), eps);
    p = add(p, _mm512_div_ps(mul(neg_step_size, m), denom));
    _mm512_mask_storeu_ps(param + i, mask, p);
    _mm512_mask_storeu_ps(exp_avg + i, mask, m);
    _mm512_mask_storeu_ps(exp_avg_sq + i, mask, v);
  }
}

}  // namespace sieve::kernels::cpu::avx512
