// Internal to conv2d.cpp: the path of conv2d through oneDNN's own convolution primitives
// (forward, backward data, backward weights), cached by shape. Same contracts as
// conv2d_forward / conv2d_backward in conv2d.h for f32 and a checked shape, except that the
// backward here never computes dbias. Letters as in conv2d.h.
#pragma once

#include "sieve/kernels/cpu/conv2d.h"

namespace sieve::kernels::cpu {

void conv2d_onednn_forward(const Conv2dShape& shape, const float* x, const float* weight, const float* bias,
                           float* out);

// dx and dweight may each be null (not wanted).
void conv2d_onednn_backward(const Conv2dShape& shape, const float* x, const float* weight, const float* dout,
                            float* dx, float* dweight);

}  // namespace sieve::kernels::cpu
