// Differentiable views and layout changes. Views share storage with their input; the
// backward of a view maps the gradient back to the input's shape.
#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Shape;
using core::Tensor;

// Same elements, new shape (one extent may be -1). Copies only if `x` is not contiguous.
Tensor reshape(const Tensor& x, Shape shape);
Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1);
// Elements [begin, end) along dimension d.
Tensor slice(const Tensor& x, std::int64_t d, std::int64_t begin, std::int64_t end);
// A contiguous tensor with the same values (the input itself when already contiguous).
Tensor contiguous(const Tensor& x);
// Concatenation along dimension d.
Tensor concat(const std::vector<Tensor>& parts, std::int64_t d);
// Converts between floating dtypes; the gradient converts back.
Tensor to_dtype(const Tensor& x, core::DType dtype);
// Channels-last images x [B, H, W, C] → patches [B, (H/p)·(W/p), p·p·C] (H and W multiples of
// p): patches in row-major order, each flattened as (py, px, c), the order of a conv2d weight
// [Co, p, p, C]. So linear(patchify(x, p), weight.reshape({Co, p·p·C})) is conv2d(x, weight,
// {}, p) flattened to tokens; patchify alone gives the pixel targets of masked-patch
// prediction. A reshape / transpose / reshape (one copy); differentiable.
Tensor patchify(const Tensor& x, std::int64_t patch);

}  // namespace sieve::ops
