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

}  // namespace sieve::ops
