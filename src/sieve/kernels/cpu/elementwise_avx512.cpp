// AVX-512 leaf loops for elementwise.cpp: 16 floats per step, masked loads/stores for the
// tail. Only intrinsics and code local to this file live here, so no AVX-512 copy of a shared
// inline function can leak into the portable path. Transcendental unary ops (exp, log, tanh,
// sigmoid) have no loop here and run the portable libm loop.
//
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm*_undefined_*()
// helpers once inlined (GCC bug 105593). The pragma is location-based, so scoping it to the
// header's lines silences that without hiding warnings in this file's code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "sieve/kernels/cpu/elementwise_loops.h"

namespace sieve::kernels::cpu::avx512 {
namespace {

constexpr std::int64_t kWidth = 16;

// Lanes [0, remaining) for a tail shorter than one vector.
__mmask16 tail_mask(std::int64_t remaining) { return static_cast<__mmask16>((1u << remaining) - 1u); }

template <BinaryOp op>
__m512 apply(__m512 a, __m512 b) {
  if constexpr (op == BinaryOp::add) {
    return _mm512_add_ps(a, b);
  } else if constexpr (op == BinaryOp::sub) {
    return _mm512_sub_ps(a, b);
  } else if constexpr (op == BinaryOp::mul) {
    return _mm512_mul_ps(a, b);
  } else if constexpr (op == BinaryOp::div) {
    return _mm512_div_ps(a, b);
  } else {
    // vmaxps/vminps return the second operand when either is NaN; a + b restores the NaN.
    const __m512 r = op == BinaryOp::max ? _mm512_max_ps(a, b) : _mm512_min_ps(a, b);
    return _mm512_mask_add_ps(r, _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), a, b);
  }
}

// A broadcast operand is loaded once; a contiguous one is loaded per vector.
template <BinaryOp op, bool a_broadcast, bool b_broadcast>
void binary_loop(std::int64_t n, const float* a, const float* b, float* out) {
  const __m512 a_value = a_broadcast ? _mm512_set1_ps(*a) : _mm512_setzero_ps();
  const __m512 b_value = b_broadcast ? _mm512_set1_ps(*b) : _mm512_setzero_ps();
  std::int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const __m512 av = a_broadcast ? a_value : _mm512_loadu_ps(a + i);
    const __m512 bv = b_broadcast ? b_value : _mm512_loadu_ps(b + i);
    _mm512_storeu_ps(out + i, apply<op>(av, bv));
  }
  if (i < n) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512 av = a_broadcast ? a_value : _mm512_maskz_loadu_ps(mask, a + i);
    const __m512 bv = b_broadcast ? b_value : _mm512_maskz_loadu_ps(mask, b + i);
    _mm512_mask_storeu_ps(out + i, mask, apply<op>(av, bv));
  }
}

template <BinaryOp op>
void binary_steps(std::int64_t n, const float* a, int a_step, const float* b, int b_step, float* out) {
  if (a_step == 1 && b_step == 1) return binary_loop<op, false, false>(n, a, b, out);
  if (a_step == 1) return binary_loop<op, false, true>(n, a, b, out);
  if (b_step == 1) return binary_loop<op, true, false>(n, a, b, out);
  binary_loop<op, true, true>(n, a, b, out);
}

void binary(BinaryOp op, std::int64_t n, const float* a, int a_step, const float* b, int b_step, float* out) {
  switch (op) {
    case BinaryOp::add: return binary_steps<BinaryOp::add>(n, a, a_step, b, b_step, out);
    case BinaryOp::sub: return binary_steps<BinaryOp::sub>(n, a, a_step, b, b_step, out);
    case BinaryOp::mul: return binary_steps<BinaryOp::mul>(n, a, a_step, b, b_step, out);
    case BinaryOp::div: return binary_steps<BinaryOp::div>(n, a, a_step, b, b_step, out);
    case BinaryOp::max: return binary_steps<BinaryOp::max>(n, a, a_step, b, b_step, out);
    case BinaryOp::min: return binary_steps<BinaryOp::min>(n, a, a_step, b, b_step, out);
  }
}

template <UnaryOp op>
__m512 apply(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  if constexpr (op == UnaryOp::neg) return _mm512_xor_ps(x, _mm512_set1_ps(-0.0f));
  if constexpr (op == UnaryOp::abs) return _mm512_abs_ps(x);
  if constexpr (op == UnaryOp::sqrt) return _mm512_sqrt_ps(x);
  if constexpr (op == UnaryOp::rsqrt) return _mm512_div_ps(one, _mm512_sqrt_ps(x));
  if constexpr (op == UnaryOp::square) return _mm512_mul_ps(x, x);
  if constexpr (op == UnaryOp::reciprocal) return _mm512_div_ps(one, x);
  return x;
}

template <UnaryOp op>
void unary_loop(std::int64_t n, const float* in, float* out) {
  std::int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth) _mm512_storeu_ps(out + i, apply<op>(_mm512_loadu_ps(in + i)));
  if (i < n) {
    const __mmask16 mask = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, mask, apply<op>(_mm512_maskz_loadu_ps(mask, in + i)));
  }
}

bool unary(UnaryOp op, std::int64_t n, const float* in, float* out) {
  switch (op) {
    case UnaryOp::neg: unary_loop<UnaryOp::neg>(n, in, out); return true;
    case UnaryOp::abs: unary_loop<UnaryOp::abs>(n, in, out); return true;
    case UnaryOp::sqrt: unary_loop<UnaryOp::sqrt>(n, in, out); return true;
    case UnaryOp::rsqrt: unary_loop<UnaryOp::rsqrt>(n, in, out); return true;
    case UnaryOp::square: unary_loop<UnaryOp::square>(n, in, out); return true;
    case UnaryOp::reciprocal: unary_loop<UnaryOp::reciprocal>(n, in, out); return true;
    default: return false;
  }
}

void scale(std::int64_t n, float alpha, const float* in, float* out) {
  const __m512 a = _mm512_set1_ps(alpha);
  std::int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth) _mm512_storeu_ps(out + i, _mm512_mul_ps(a, _mm512_loadu_ps(in + i)));
  if (i < n) {
    const __mmask16 mask = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, mask, _mm512_mul_ps(a, _mm512_maskz_loadu_ps(mask, in + i)));
  }
}

void axpy(std::int64_t n, float alpha, const float* x, float* y) {
  const __m512 a = _mm512_set1_ps(alpha);
  std::int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(a, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512 xv = _mm512_maskz_loadu_ps(mask, x + i);
    _mm512_mask_storeu_ps(y + i, mask, _mm512_fmadd_ps(a, xv, _mm512_maskz_loadu_ps(mask, y + i)));
  }
}

}  // namespace

const ElementwiseLoops& elementwise_loops() {
  static constexpr ElementwiseLoops kLoops{binary, unary, scale, axpy};
  return kLoops;
}

}  // namespace sieve::kernels::cpu::avx512
