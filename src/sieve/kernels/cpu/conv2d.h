// 2-D convolution on the CPU, channels-last (NHWC), forward and backward. NHWC because the
// model's inputs are [B, H, W, 1] images and [B, T, M, 1] log-mel frames and its output is
// flattened into tokens [B, Ho·Wo, Co] with no transpose.
//
// Two paths, picked by shape from measurements (docs/multimodal.md, "Ops for the multimodal
// model"): windows that do not overlap (stride >= kernel, no padding: patch embeddings, 1x1)
// run as im2col — then a mere reordering of x — around the oneDNN GEMM of matmul.h, which is
// several times faster there than oneDNN's convolution backward; overlapping windows (3x3
// stride 2 and the like) run on oneDNN's convolution primitives, faster there than a GEMM whose
// depth is only KH·KW·Ci.
//
// Letters: B batch, H W input height and width, Ci input channels, Co output channels,
// KH KW kernel height and width, Ho Wo output height and width, K = KH·KW·Ci (one patch),
// M = B·Ho·Wo (output pixels).
#pragma once

#include <cstdint>

#include "sieve/core/dtype.h"

namespace sieve::kernels::cpu {

struct Conv2dShape {
  std::int64_t batch, height, width, in_channels;  // x [B, H, W, Ci]
  std::int64_t out_channels, kernel_h, kernel_w;   // weight [Co, KH, KW, Ci]
  std::int64_t stride_h, stride_w;                 // >= 1
  std::int64_t pad_h, pad_w;  // zeros added on each side (top and bottom; left and right), >= 0

  // Ho = (H + 2·pad_h − KH) / stride_h + 1 (floor), likewise Wo; must be >= 1.
  std::int64_t out_height() const { return (height + 2 * pad_h - kernel_h) / stride_h + 1; }
  std::int64_t out_width() const { return (width + 2 * pad_w - kernel_w) / stride_w + 1; }
};

// out [B, Ho, Wo, Co] = Σ_{ky, kx, ci} x[b, oy·sh − ph + ky, ox·sw − pw + kx, ci] · weight[co, ky, kx, ci]
// (+ bias[co]); x outside the image reads 0. All arrays contiguous; bias may be null.
// Only dtype f32 is implemented; anything else, or a bad shape, throws core::Error.
void conv2d_forward(core::DType dtype, const Conv2dShape& shape, const void* x, const void* weight,
                    const void* bias, void* out);

// From dout [B, Ho, Wo, Co]: dx [B, H, W, Ci], dweight [Co, KH, KW, Ci], dbias [Co], each
// OVERWRITTEN; any of the three may be null (not wanted). x is needed for dweight, weight for dx.
void conv2d_backward(core::DType dtype, const Conv2dShape& shape, const void* x, const void* weight,
                     const void* dout, void* dx, void* dweight, void* dbias);

// The two implementations, selectable so tests can run both on any shape; `automatic` is what
// the functions above use (conv2d_default_path).
enum class Conv2dPath { automatic, im2col, onednn };

Conv2dPath conv2d_default_path(const Conv2dShape& shape);

void conv2d_forward_path(Conv2dPath path, core::DType dtype, const Conv2dShape& shape, const void* x,
                         const void* weight, const void* bias, void* out);
void conv2d_backward_path(Conv2dPath path, core::DType dtype, const Conv2dShape& shape, const void* x,
                          const void* weight, const void* dout, void* dx, void* dweight, void* dbias);

}  // namespace sieve::kernels::cpu
