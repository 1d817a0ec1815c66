// Causal depthwise 1-D convolution over tokens, forward and backward (the sparse attention
// scorer's token mixer). Each channel has its own kernel of K taps; output t reads inputs
// t − K + 1 .. t, with zeros before the sequence start:
//
//   out[b, t, c] = bias[c] + Σ_{k<K} weight[c, k] · x[b, t − (K − 1) + k, c]
//
// Shapes: B batch, T tokens, C channels, K kernel size.
//   x, out, dout, dx : [B, T, C] of `dtype`, contiguous
//   weight, dweight  : [C, K] f32;  bias, dbias : [C] f32
// Only f32 activations are implemented; other dtypes throw core::Error naming the dtype. The
// weight-gradient sums run over a fixed split of the B·T rows that depends only on the shape,
// so results are bit-identical for any thread count.
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

// bias may be null (no bias).
void causal_depthwise_conv1d_forward(core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t C,
                                     std::int64_t K, const void* x, const float* weight, const float* bias, void* out);

// dx[b, s, c] = Σ_k weight[c, k] · dout[b, s + K − 1 − k, c] (terms past T are zero);
// dweight[c, k] = Σ_{b,t} dout[b, t, c] · x[b, t − K + 1 + k, c]; dbias[c] = Σ_{b,t} dout[b, t, c].
// All three are OVERWRITTEN; each may be null (not needed).
void causal_depthwise_conv1d_backward(core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t C,
                                      std::int64_t K, const void* x, const float* weight, const void* dout, void* dx,
                                      float* dweight, float* dbias);

}  // namespace sieve::kernels::cpu
