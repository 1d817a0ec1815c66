// SiLU / SwiGLU kernels, written once against a Simd traits type and instantiated per ISA:
// activation.cpp (scalar), activation_avx2.cpp, activation_avx512.cpp. activation.cpp picks a
// set at run time and hands each thread a sub-range; every function here handles [0, n) of the
// pointers it is given. Each vector is loaded before it is stored, so outputs may alias inputs.
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/simd_loops.h"

namespace sieve::kernels::cpu {

struct ActivationKernels {
  void (*silu_forward_f32)(std::int64_t n, const float* x, float* y);
  void (*silu_backward_f32)(std::int64_t n, const float* x, const float* dy, float* dx);
  void (*swiglu_forward_f32)(std::int64_t n, const float* gate, const float* up, float* out);
  void (*swiglu_backward_f32)(std::int64_t n, const float* gate, const float* up, const float* dout,
                              float* dgate, float* dup);
};

namespace avx512 {
ActivationKernels activation_kernels();
}
namespace avx2 {
ActivationKernels activation_kernels();
}

// sigmoid(x) = 1 / (1 + e^-x); for x << 0, e^-x overflows to inf and the result is a clean 0.
template <class S>
inline typename S::F sigmoid(typename S::F x) {
  const typename S::F one = S::set1(1.0f);
  return S::div(one, S::add(one, S::exp(S::sub(S::zero(), x))));
}

template <class S>
void silu_forward_span(std::int64_t n, const float* x, float* y) {
  using F = typename S::F;
  for_each_vector<S>(n, [&](std::int64_t i, std::int64_t len) {
    const F xv = load_n<S>(x + i, len);
    store_n<S>(y + i, S::mul(xv, sigmoid<S>(xv)), len);
  });
}

// d silu(x) / dx = s + x * s * (1 - s) = s * (1 + x * (1 - s)), s = sigmoid(x).
template <class S>
inline typename S::F silu_derivative(typename S::F x, typename S::F s) {
  const typename S::F one = S::set1(1.0f);
  return S::mul(s, S::fmadd(x, S::sub(one, s), one));
}

template <class S>
void silu_backward_span(std::int64_t n, const float* x, const float* dy, float* dx) {
  using F = typename S::F;
  for_each_vector<S>(n, [&](std::int64_t i, std::int64_t len) {
    const F xv = load_n<S>(x + i, len);
    const F dyv = load_n<S>(dy + i, len);
    store_n<S>(dx + i, S::mul(dyv, silu_derivative<S>(xv, sigmoid<S>(xv))), len);
  });
}

template <class S>
void swiglu_forward_span(std::int64_t n, const float* gate, const float* up, float* out) {
  using F = typename S::F;
  for_each_vector<S>(n, [&](std::int64_t i, std::int64_t len) {
    const F g = load_n<S>(gate + i, len);
    const F u = load_n<S>(up + i, len);
    store_n<S>(out + i, S::mul(S::mul(g, sigmoid<S>(g)), u), len);
  });
}

template <class S>
void swiglu_backward_span(std::int64_t n, const float* gate, const float* up, const float* dout,
                          float* dgate, float* dup) {
  using F = typename S::F;
  for_each_vector<S>(n, [&](std::int64_t i, std::int64_t len) {
    const F g = load_n<S>(gate + i, len);
    const F u = load_n<S>(up + i, len);
    const F d = load_n<S>(dout + i, len);
    const F s = sigmoid<S>(g);
    store_n<S>(dgate + i, S::mul(S::mul(d, u), silu_derivative<S>(g, s)), len);
    store_n<S>(dup + i, S::mul(d, S::mul(g, s)), len);
  });
}

template <class S>
ActivationKernels make_activation_kernels() {
  return {&silu_forward_span<S>, &silu_backward_span<S>, &swiglu_forward_span<S>, &swiglu_backward_span<S>};
}

}  // namespace sieve::kernels::cpu
