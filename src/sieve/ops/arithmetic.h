// Elementwise arithmetic with NumPy-style broadcasting, and reductions.
#pragma once

#include "sieve/core/tensor.h"

namespace sieve::ops {

using core::Tensor;

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float alpha);          // alpha * x
Tensor add_scalar(const Tensor& x, float value);    // x + value
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor square(const Tensor& x);

// Sum / mean of all elements: a one-element tensor of shape [].
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);
// Sum over dimension d (removed unless keep_dim).
Tensor sum(const Tensor& x, std::int64_t d, bool keep_dim = false);

// Sums `grad` down to `shape` over broadcast dimensions (the backward of broadcasting).
Tensor reduce_to_shape(const Tensor& grad, const core::Shape& shape);

}  // namespace sieve::ops
