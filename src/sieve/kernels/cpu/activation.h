// Elementwise activations, forward and backward: SiLU, GELU (exact, erf form), SwiGLU.
//
// Shapes: n = number of elements; every tensor is [n] of `dtype`, contiguous (any leading
// shape flattened). Outputs may alias inputs of the same shape (in-place is safe).
// Only f32 is implemented; other dtypes throw core::Error naming the dtype.
// SiLU and SwiGLU use a vectorised exp (~1 ulp); GELU uses the C library erf/exp.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// y = x * sigmoid(x)
void silu_forward(core::DType dtype, std::int64_t n, const void* x, void* y);
// dx = dy * s * (1 + x * (1 - s)), s = sigmoid(x)
void silu_backward(core::DType dtype, std::int64_t n, const void* x, const void* dy, void* dx);

// y = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))  (PyTorch's default, approximate='none')
void gelu_forward(core::DType dtype, std::int64_t n, const void* x, void* y);
// dx = dy * (Phi(x) + x * phi(x)), phi the standard normal density
void gelu_backward(core::DType dtype, std::int64_t n, const void* x, const void* dy, void* dx);

// out = silu(gate) * up  (the LLaMA MLP gate)
void swiglu_forward(core::DType dtype, std::int64_t n, const void* gate, const void* up, void* out);
// dgate = dout * up * silu'(gate);  dup = dout * silu(gate)
void swiglu_backward(core::DType dtype, std::int64_t n, const void* gate, const void* up, const void* dout,
                     void* dgate, void* dup);

}  // namespace sieve::kernels::cpu
