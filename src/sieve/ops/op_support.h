// Helpers shared by the op files: layout, shape checks, broadcasting and the non-recording
// elementwise maps that forward and backward functions are built from. Nothing here records
// autograd graph nodes.
#pragma once

#include <string_view>

#include "sieve/core/tensor.h"
#include "sieve/kernels/cpu/elementwise.h"

namespace sieve::ops::detail {

using core::Shape;
using core::Tensor;

// `x` itself when contiguous, else a contiguous copy. Never records a graph node: use it for
// kernel inputs and inside backward functions (ops::contiguous is the differentiable one).
Tensor dense(const Tensor& x);

// Copies `source` into `destination` (both any strides; same shape and dtype).
void copy_into(const Tensor& destination, const Tensor& source);

// The NumPy broadcast of two shapes; a SIEVE_CHECK error naming `op` and both shapes otherwise.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

// Strides (in elements) that read `x` (any strides) as if it had the broadcast shape
// `target`: 0 on broadcast (and missing leading) dimensions.
Shape broadcast_strides(const Tensor& x, const Shape& target);

// A contiguous tensor of shape `target` holding `x` broadcast to it (the backward of a
// reduction, and the forward of an expand).
Tensor broadcast_to(const Tensor& x, const Shape& target);

// out = a op b with broadcasting; a and b may have any strides. No autograd.
Tensor binary(kernels::cpu::BinaryOp op, const Tensor& a, const Tensor& b, std::string_view name);
// out = op(x), contiguous. No autograd.
Tensor unary(kernels::cpu::UnaryOp op, const Tensor& x);
// out = alpha · x, contiguous. No autograd.
Tensor scaled(const Tensor& x, float alpha);

void check_same_dtype(const Tensor& a, const Tensor& b, std::string_view op);
void check_floating(const Tensor& x, std::string_view op);

// A dimension index in [0, rank of shape); negative counts from the end. SIEVE_CHECK error
// naming the shape otherwise.
std::int64_t normalize_dim(std::int64_t d, const Shape& shape, std::string_view op);

}  // namespace sieve::ops::detail
