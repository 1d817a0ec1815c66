// Elementwise arithmetic with NumPy-style broadcasting, unary maps and sums. Letters: n
// elements; for a sum over one dimension, O (outer), L (the reduced length), I (inner) view
// the input as [O, L, I].
//
// Binary ops read both operands through strides (0 on broadcast dimensions), so neither a
// broadcast nor a transposed operand is ever materialised; their gradients are the incoming
// gradient reduced back to each operand's shape (reduce_to_shape). Reductions return f32
// (the reduce kernels accumulate in double and write f32).
#include "sieve/ops/arithmetic.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/elementwise.h"
#include "sieve/kernels/cpu/reduce.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {
namespace {

namespace k = kernels::cpu;
using core::DType;
using core::Shape;
using k::BinaryOp;
using k::UnaryOp;

// A tensor of `shape` filled with `value` (the gradient of a full reduction).
Tensor filled(const Shape& shape, double value, DType dtype) {
  Tensor out = Tensor::empty(shape, dtype);
  k::fill(dtype, out.numel(), static_cast<float>(value), out.raw_data());
  return out;
}

// Σ over dimension d, keeping it as extent 1. No autograd.
Tensor sum_dim_values(const Tensor& x, std::int64_t d) {
  const Tensor xc = detail::dense(x);
  const std::int64_t L = x.size(d);
  const std::int64_t O = core::shape_numel(std::span(x.shape()).first(static_cast<std::size_t>(d)));
  const std::int64_t I = core::shape_numel(std::span(x.shape()).subspan(static_cast<std::size_t>(d) + 1));
  Shape out_shape = x.shape();
  out_shape[static_cast<std::size_t>(d)] = 1;
  Tensor out = Tensor::empty(out_shape, DType::f32);  // [O, 1, I]
  float* dst = out.data<float>();
  if (out.numel() == 0) return out;
  if (I == 1) {
    k::sum_last_dim(x.dtype(), O, L, xc.raw_data(), dst);  // [O, L] → [O]
  } else if (O == 1) {
    k::sum_rows(x.dtype(), L, I, xc.raw_data(), dst, false);  // [L, I] → [I]
  } else if (I >= 64) {
    // One row sum per outer index; each call is long enough to amortise its overhead.
    const auto row_bytes = L * I * static_cast<std::int64_t>(core::dtype_size(x.dtype()));
    const char* src = static_cast<const char*>(xc.raw_data());
    for (std::int64_t o = 0; o < O; ++o) k::sum_rows(x.dtype(), L, I, src + o * row_bytes, dst + o * I, false);
  } else {
    // Short inner rows: move L last ([O, I, L]) and reduce the last dimension in one call.
    const Tensor moved = detail::dense(xc.view({O, L, I}).transpose(1, 2));
    k::sum_last_dim(x.dtype(), O * I, L, moved.raw_data(), dst);
  }
  return out;
}

// `dy` of a sum over d (d removed unless keep_dim) broadcast back to the input shape.
Tensor expand_sum_grad(const Tensor& dy, const Shape& x_shape, std::int64_t d, bool keep_dim) {
  Tensor kept = dy;
  if (!keep_dim) {
    Shape shape = dy.shape(), strides = dy.strides();
    shape.insert(shape.begin() + d, 1);
    strides.insert(strides.begin() + d, 0);
    kept = dy.as_strided(shape, strides, dy.offset());
  }
  return detail::broadcast_to(kept, x_shape);
}

// Non-recording reduce_to_shape: Σ over leading extra dimensions, then over each dimension
// where `shape` has extent 1 and `grad` does not.
Tensor reduce_values(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const std::size_t lead = grad.shape().size() - shape.size();
  Tensor current = grad;
  if (lead > 0) {
    // [P, Q] with P the product of the leading dimensions: one row sum.
    const Tensor gc = detail::dense(grad);
    const std::int64_t P = core::shape_numel(std::span(grad.shape()).first(lead));
    const Shape rest(grad.shape().begin() + static_cast<std::ptrdiff_t>(lead), grad.shape().end());
    Tensor summed = Tensor::empty(rest, DType::f32);
    k::sum_rows(grad.dtype(), P, core::shape_numel(rest), gc.raw_data(), summed.data<float>(), false);
    current = summed;
  }
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 1 && current.size(static_cast<std::int64_t>(i)) != 1)
      current = sum_dim_values(current, static_cast<std::int64_t>(i));
  return current;
}

// Records a one-input op whose gradient is backward(dy).
template <class Backward>
Tensor record_unary(Tensor out, const Tensor& x, const char* name, Backward backward) {
  if (autograd::needs_grad({&x})) {
    autograd::record(out, name, {&x}, [backward](const Tensor& dy) -> std::vector<Tensor> { return {backward(dy)}; });
  }
  return out;
}

}  // namespace

// --- binary ------------------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = detail::binary(BinaryOp::add, a, b, "add");
  if (autograd::needs_grad({&a, &b})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    const Shape a_shape = a.shape(), b_shape = b.shape();
    autograd::record(out, "add", {&a, &b}, [=](const Tensor& dy) -> std::vector<Tensor> {
      return {need_a ? reduce_values(dy, a_shape) : Tensor(), need_b ? reduce_values(dy, b_shape) : Tensor()};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = detail::binary(BinaryOp::sub, a, b, "sub");
  if (autograd::needs_grad({&a, &b})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    const Shape a_shape = a.shape(), b_shape = b.shape();
    autograd::record(out, "sub", {&a, &b}, [=](const Tensor& dy) -> std::vector<Tensor> {
      return {need_a ? reduce_values(dy, a_shape) : Tensor(),
              need_b ? detail::scaled(reduce_values(dy, b_shape), -1.0f) : Tensor()};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = detail::binary(BinaryOp::mul, a, b, "mul");
  if (autograd::needs_grad({&a, &b})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    const Shape a_shape = a.shape(), b_shape = b.shape();
    // da = dy·b needs b; db = dy·a needs a.
    const Tensor as = need_b ? a.detach() : Tensor();
    const Tensor bs = need_a ? b.detach() : Tensor();
    autograd::record(out, "mul", {&a, &b}, [=](const Tensor& dy) -> std::vector<Tensor> {
      return {need_a ? reduce_values(detail::binary(BinaryOp::mul, dy, bs, "mul backward"), a_shape) : Tensor(),
              need_b ? reduce_values(detail::binary(BinaryOp::mul, dy, as, "mul backward"), b_shape) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = detail::binary(BinaryOp::div, a, b, "div");
  if (autograd::needs_grad({&a, &b})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    const Shape a_shape = a.shape(), b_shape = b.shape();
    const Tensor bs = b.detach();
    const Tensor outs = need_b ? out.detach() : Tensor();
    autograd::record(out, "div", {&a, &b}, [=](const Tensor& dy) -> std::vector<Tensor> {
      Tensor da, db;
      // d(a/b)/da = 1/b;  d(a/b)/db = −a/b² = −out/b.
      if (need_a) da = reduce_values(detail::binary(BinaryOp::div, dy, bs, "div backward"), a_shape);
      if (need_b) {
        const Tensor dy_out = detail::binary(BinaryOp::mul, dy, outs, "div backward");
        db = detail::scaled(reduce_values(detail::binary(BinaryOp::div, dy_out, bs, "div backward"), b_shape), -1.0f);
      }
      return {da, db};
    });
  }
  return out;
}

// --- unary -------------------------------------------------------------------------------

Tensor scale(const Tensor& x, float alpha) {
  return record_unary(detail::scaled(x, alpha), x, "scale",
                      [alpha](const Tensor& dy) { return detail::scaled(dy, alpha); });
}

Tensor add_scalar(const Tensor& x, float value) {
  const Tensor scalar = filled({}, value, x.dtype());
  return record_unary(detail::binary(BinaryOp::add, x, scalar, "add_scalar"), x, "add_scalar",
                      [](const Tensor& dy) { return dy; });
}

Tensor neg(const Tensor& x) {
  return record_unary(detail::unary(UnaryOp::neg, x), x, "neg",
                      [](const Tensor& dy) { return detail::unary(UnaryOp::neg, dy); });
}

Tensor exp(const Tensor& x) {
  Tensor out = detail::unary(UnaryOp::exp, x);
  const Tensor saved = out.detach();  // d eˣ = eˣ
  return record_unary(out, x, "exp",
                      [saved](const Tensor& dy) { return detail::binary(BinaryOp::mul, dy, saved, "exp backward"); });
}

Tensor log(const Tensor& x) {
  const Tensor saved = x.detach();  // d log x = 1/x
  return record_unary(detail::unary(UnaryOp::log, x), x, "log",
                      [saved](const Tensor& dy) { return detail::binary(BinaryOp::div, dy, saved, "log backward"); });
}

Tensor sqrt(const Tensor& x) {
  Tensor out = detail::unary(UnaryOp::sqrt, x);
  const Tensor saved = out.detach();  // d √x = 1 / (2√x)
  return record_unary(out, x, "sqrt", [saved](const Tensor& dy) {
    return detail::scaled(detail::binary(BinaryOp::div, dy, saved, "sqrt backward"), 0.5f);
  });
}

Tensor tanh(const Tensor& x) {
  Tensor out = detail::unary(UnaryOp::tanh, x);
  const Tensor saved = out.detach();  // d tanh = 1 − tanh²:  dx = dy − dy·t·t
  return record_unary(out, x, "tanh", [saved](const Tensor& dy) {
    const Tensor dy_t = detail::binary(BinaryOp::mul, dy, saved, "tanh backward");
    return detail::binary(BinaryOp::sub, dy, detail::binary(BinaryOp::mul, dy_t, saved, "tanh backward"),
                          "tanh backward");
  });
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = detail::unary(UnaryOp::sigmoid, x);
  const Tensor saved = out.detach();  // d σ = σ(1 − σ):  dx = dy·s − dy·s·s
  return record_unary(out, x, "sigmoid", [saved](const Tensor& dy) {
    const Tensor dy_s = detail::binary(BinaryOp::mul, dy, saved, "sigmoid backward");
    return detail::binary(BinaryOp::sub, dy_s, detail::binary(BinaryOp::mul, dy_s, saved, "sigmoid backward"),
                          "sigmoid backward");
  });
}

Tensor square(const Tensor& x) {
  const Tensor saved = x.detach();  // d x² = 2x
  return record_unary(detail::unary(UnaryOp::square, x), x, "square", [saved](const Tensor& dy) {
    return detail::scaled(detail::binary(BinaryOp::mul, dy, saved, "square backward"), 2.0f);
  });
}

// --- reductions --------------------------------------------------------------------------

Tensor sum(const Tensor& x) {
  const Tensor xc = detail::dense(x);
  const double total = k::sum(x.dtype(), x.numel(), xc.raw_data());
  Tensor out = filled({}, total, DType::f32);
  const Shape x_shape = x.shape();
  const DType dtype = x.dtype();
  return record_unary(out, x, "sum", [=](const Tensor& dy) { return filled(x_shape, dy.item(), dtype); });
}

Tensor mean(const Tensor& x) {
  const Tensor xc = detail::dense(x);
  const auto n = static_cast<double>(x.numel());
  const double total = k::sum(x.dtype(), x.numel(), xc.raw_data());
  Tensor out = filled({}, total / n, DType::f32);
  const Shape x_shape = x.shape();
  const DType dtype = x.dtype();
  return record_unary(out, x, "mean", [=](const Tensor& dy) { return filled(x_shape, dy.item() / n, dtype); });
}

Tensor sum(const Tensor& x, std::int64_t d, bool keep_dim) {
  d = detail::normalize_dim(d, x.shape(), "sum");
  Tensor out = sum_dim_values(x, d);  // [O, 1, I]
  if (!keep_dim) {
    Shape shape = x.shape();
    shape.erase(shape.begin() + d);
    out = out.view(shape);  // [O, I]
  }
  const Shape x_shape = x.shape();
  return record_unary(out, x, "sum_dim", [=](const Tensor& dy) { return expand_sum_grad(dy, x_shape, d, keep_dim); });
}

Tensor reduce_to_shape(const Tensor& grad, const core::Shape& shape) {
  bool fits = shape.size() <= grad.shape().size();
  const std::size_t lead = fits ? grad.shape().size() - shape.size() : 0;
  for (std::size_t i = 0; fits && i < shape.size(); ++i)
    fits = shape[i] == grad.shape()[lead + i] || shape[i] == 1;
  SIEVE_CHECK(fits, "reduce_to_shape: {} cannot be reduced to {} (not a broadcast of it)",
              core::shape_string(grad.shape()), core::shape_string(shape));
  if (grad.shape() == shape) return grad;
  const Shape grad_shape = grad.shape();
  return record_unary(reduce_values(grad, shape), grad, "reduce_to_shape",
                      [=](const Tensor& dy) { return detail::broadcast_to(dy, grad_shape); });
}

}  // namespace sieve::ops
