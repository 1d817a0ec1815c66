// 2-D convolution over channels-last images. Letters: B batch, H W input height and width,
// Ci input channels, Co output channels, KH KW kernel size, Ho Wo output size.
#pragma once

#include <cstdint>

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

// Strides >= 1; zero padding >= 0 added on both sides of each axis (PyTorch's `padding`).
struct Conv2dOptions {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_h = 0, pad_w = 0;
};

// x [B, H, W, Ci] (NHWC), weight [Co, KH, KW, Ci], bias [Co] or undefined → [B, Ho, Wo, Co] with
//   out[b, oy, ox, co] = bias[co]
//       + Σ_{ky, kx, ci} weight[co, ky, kx, ci] · x[b, oy·sh − ph + ky, ox·sw − pw + kx, ci]
// and Ho = (H + 2·ph − KH) / sh + 1 (floor), likewise Wo. This is PyTorch's conv2d with its
// input permuted NCHW → NHWC and its weight [Co, Ci, KH, KW] → [Co, KH, KW, Ci]; the output
// reshapes to tokens [B, Ho·Wo, Co] without a copy. With KH = KW = sh = sw = p and no padding
// it is a ViT patch embedding: linear(patchify(x, p), weight.reshape({Co, p·p·Ci})).
// Differentiable in x, weight and bias; all f32 (computed in f32 whatever the precision policy).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options);
// Square stride and padding.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::int64_t stride = 1,
              std::int64_t padding = 0);

}  // namespace sieve::ops
