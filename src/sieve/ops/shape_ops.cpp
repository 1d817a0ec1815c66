// Differentiable views and layout changes. Views (reshape of a contiguous tensor, transpose,
// slice) share storage with their input; their backward maps the gradient back to the input's
// shape. Copies (contiguous, concat, to_dtype) allocate.
#include "sieve/ops/shape_ops.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/convert.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {
namespace {

using core::DType;

Tensor convert(const Tensor& x, DType dtype) {
  const Tensor xc = detail::dense(x);
  Tensor out = Tensor::empty(x.shape(), dtype);
  kernels::cpu::convert(x.dtype(), dtype, x.numel(), xc.raw_data(), out.raw_data());
  return out;
}

// Concatenation without autograd: each part is copied into its slice of the output.
Tensor concat_values(const std::vector<Tensor>& parts, std::int64_t d, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, parts.front().dtype());
  std::int64_t at = 0;
  for (const Tensor& part : parts) {
    const std::int64_t extent = part.size(d);
    detail::copy_into(out.slice(d, at, at + extent), part);
    at += extent;
  }
  return out;
}

Tensor concat_recorded(const std::vector<Tensor>& parts, std::int64_t d);

// Two-input concat that records its node; concat_recorded builds N inputs from these.
Tensor concat_pair(const Tensor& a, const Tensor& b, std::int64_t d) {
  Shape shape = a.shape();
  shape[d] += b.size(d);
  Tensor out = concat_values({a, b}, d, shape);
  if (autograd::needs_grad({&a, &b})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    const std::int64_t split = a.size(d), total = shape[d];
    autograd::record(out, "concat", {&a, &b}, [=](const Tensor& dy) -> std::vector<Tensor> {
      return {need_a ? detail::dense(dy.slice(d, 0, split)) : Tensor(),
              need_b ? detail::dense(dy.slice(d, split, total)) : Tensor()};
    });
  }
  return out;
}

// NOTE [N-ary concat]: autograd::record takes a fixed initializer list of inputs, so a graph
// node cannot have a run-time number of inputs. With gradients, concat is a balanced tree of
// two-input nodes (each element is copied about log2(N) times); without them (inference, the
// common many-part case) it is a single copy.
Tensor concat_recorded(const std::vector<Tensor>& parts, std::int64_t d) {
  if (parts.size() == 1) return parts.front();
  const auto middle = parts.begin() + static_cast<std::ptrdiff_t>(parts.size() / 2);
  const Tensor left = concat_recorded(std::vector<Tensor>(parts.begin(), middle), d);
  const Tensor right = concat_recorded(std::vector<Tensor>(middle, parts.end()), d);
  return concat_pair(left, right, d);
}

}  // namespace

Tensor reshape(const Tensor& x, Shape shape) {
  // Tensor::view checks the element count (naming both shapes) and resolves -1.
  Tensor out = detail::dense(x).view(std::move(shape));
  if (autograd::needs_grad({&x})) {
    const Shape x_shape = x.shape();
    autograd::record(out, "reshape", {&x},
                     [=](const Tensor& dy) -> std::vector<Tensor> { return {detail::dense(dy).view(x_shape)}; });
  }
  return out;
}

Tensor patchify(const Tensor& x, std::int64_t patch) {
  SIEVE_CHECK(x.dim() == 4, "patchify: x must be [B, H, W, C], got {}", core::shape_string(x.shape()));
  const std::int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3), p = patch;
  SIEVE_CHECK(p >= 1 && H % p == 0 && W % p == 0, "patchify: patch size {} must be >= 1 and divide H {} and W {}", p,
              H, W);
  // [B, H, W, C] → [B, H/p, p, W/p, p·C] → [B, H/p, W/p, p, p·C] → [B, N, p·p·C]
  const Tensor rows = reshape(x, {B, H / p, p, W / p, p * C});
  return reshape(transpose(rows, 2, 3), {B, (H / p) * (W / p), p * p * C});
}

Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1) {
  d0 = detail::normalize_dim(d0, x.shape(), "transpose");
  d1 = detail::normalize_dim(d1, x.shape(), "transpose");
  Tensor out = x.transpose(d0, d1);
  if (autograd::needs_grad({&x})) {
    autograd::record(out, "transpose", {&x},
                     [=](const Tensor& dy) -> std::vector<Tensor> { return {dy.transpose(d0, d1)}; });
  }
  return out;
}

Tensor slice(const Tensor& x, std::int64_t d, std::int64_t begin, std::int64_t end) {
  d = detail::normalize_dim(d, x.shape(), "slice");
  SIEVE_CHECK(0 <= begin && begin <= end && end <= x.size(d), "slice: [{}, {}) out of range for dimension {} of {}",
              begin, end, d, core::shape_string(x.shape()));
  Tensor out = x.slice(d, begin, end);
  if (autograd::needs_grad({&x})) {
    const Shape x_shape = x.shape();
    const DType dtype = x.dtype();
    autograd::record(out, "slice", {&x}, [=](const Tensor& dy) -> std::vector<Tensor> {
      // The sliced-away elements got no gradient: zeros around the copied slice.
      Tensor dx = Tensor::zeros(x_shape, dtype);
      detail::copy_into(dx.slice(d, begin, end), dy);
      return {dx};
    });
  }
  return out;
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = detail::dense(x);
  if (autograd::needs_grad({&x})) {
    autograd::record(out, "contiguous", {&x}, [](const Tensor& dy) -> std::vector<Tensor> { return {dy}; });
  }
  return out;
}

Tensor concat(const std::vector<Tensor>& parts, std::int64_t d) {
  SIEVE_CHECK(!parts.empty(), "concat: no tensors to concatenate");
  const Tensor& first = parts.front();
  d = detail::normalize_dim(d, first.shape(), "concat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  bool any_grad = false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Tensor& part = parts[i];
    bool fits = part.dim() == first.dim();
    for (std::int64_t j = 0; fits && j < first.dim(); ++j) fits = j == d || part.size(j) == first.size(j);
    SIEVE_CHECK(fits, "concat along dimension {}: part {} has shape {}, part 0 has {}", d, i,
                core::shape_string(part.shape()), core::shape_string(first.shape()));
    detail::check_same_dtype(first, part, "concat");
    out_shape[d] += part.size(d);
    any_grad = any_grad || autograd::needs_grad({&part});
  }
  if (!any_grad) return concat_values(parts, d, out_shape);
  if (parts.size() == 1) {
    Tensor out = concat_values(parts, d, out_shape);  // still a fresh copy, as for N parts
    autograd::record(out, "concat", {&first}, [](const Tensor& dy) -> std::vector<Tensor> { return {dy}; });
    return out;
  }
  return concat_recorded(parts, d);
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = convert(x, dtype);
  // Integer outputs carry no gradient; between floating dtypes the gradient converts back.
  if (core::dtype_is_floating(dtype) && autograd::needs_grad({&x})) {
    const DType from = x.dtype();
    autograd::record(out, "to_dtype", {&x},
                     [=](const Tensor& dy) -> std::vector<Tensor> { return {convert(dy, from)}; });
  }
  return out;
}

}  // namespace sieve::ops
