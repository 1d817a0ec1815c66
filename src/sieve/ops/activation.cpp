// Activations and softmax. Letters: n elements (any shape flattened); for softmax R rows (all
// leading dimensions) and C the softmax dimension (the last). Backward of the pointwise
// activations recomputes from the saved input (cheaper to keep than the output plus the
// sigmoid); softmax saves its output, which is all its backward needs.
#include "sieve/ops/activation.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/activation.h"
#include "sieve/kernels/cpu/softmax.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {
namespace {

using ForwardKernel = void (*)(core::DType, std::int64_t, const void*, void*);
using BackwardKernel = void (*)(core::DType, std::int64_t, const void*, const void*, void*);

// y = f(x) elementwise, with dx = backward(x, dy).
Tensor pointwise(const char* name, const Tensor& x, ForwardKernel forward, BackwardKernel backward) {
  detail::check_floating(x, name);
  const Tensor xc = detail::dense(x);  // [n]
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  forward(x.dtype(), x.numel(), xc.raw_data(), y.raw_data());
  if (autograd::needs_grad({&x})) {
    const Tensor xs = xc.detach();
    autograd::record(y, name, {&x}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor dyc = detail::dense(dy);
      Tensor dx = Tensor::empty(xs.shape(), xs.dtype());
      backward(xs.dtype(), xs.numel(), xs.raw_data(), dyc.raw_data(), dx.raw_data());
      return {dx};
    });
  }
  return y;
}

}  // namespace

Tensor silu(const Tensor& x) {
  return pointwise("silu", x, kernels::cpu::silu_forward, kernels::cpu::silu_backward);
}

Tensor gelu(const Tensor& x) {
  return pointwise("gelu", x, kernels::cpu::gelu_forward, kernels::cpu::gelu_backward);
}

Tensor swiglu(const Tensor& gate, const Tensor& up) {
  SIEVE_CHECK(gate.shape() == up.shape(), "swiglu: gate {} and up {} must have the same shape",
              core::shape_string(gate.shape()), core::shape_string(up.shape()));
  detail::check_same_dtype(gate, up, "swiglu");
  detail::check_floating(gate, "swiglu");
  const Tensor gc = detail::dense(gate), uc = detail::dense(up);  // [n]
  Tensor out = Tensor::empty(gate.shape(), gate.dtype());
  kernels::cpu::swiglu_forward(gate.dtype(), gate.numel(), gc.raw_data(), uc.raw_data(), out.raw_data());
  if (autograd::needs_grad({&gate, &up})) {
    const bool need_gate = gate.requires_grad(), need_up = up.requires_grad();
    const Tensor gs = gc.detach(), us = uc.detach();
    autograd::record(out, "swiglu", {&gate, &up}, [=](const Tensor& dout) -> std::vector<Tensor> {
      const Tensor dc = detail::dense(dout);
      Tensor dgate = Tensor::empty(gs.shape(), gs.dtype());
      Tensor dup = Tensor::empty(us.shape(), us.dtype());
      kernels::cpu::swiglu_backward(gs.dtype(), gs.numel(), gs.raw_data(), us.raw_data(), dc.raw_data(),
                                    dgate.raw_data(), dup.raw_data());
      return {need_gate ? dgate : Tensor(), need_up ? dup : Tensor()};
    });
  }
  return out;
}

Tensor softmax(const Tensor& x) {
  SIEVE_CHECK(x.dim() >= 1, "softmax: needs at least one dimension, got {}", core::shape_string(x.shape()));
  detail::check_floating(x, "softmax");
  const std::int64_t C = x.size(-1);
  const std::int64_t R = C == 0 ? 0 : x.numel() / C;
  const Tensor xc = detail::dense(x);  // [R, C]
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  kernels::cpu::softmax_forward(x.dtype(), R, C, xc.raw_data(), y.raw_data());
  if (autograd::needs_grad({&x})) {
    const Tensor ys = y.detach();
    autograd::record(y, "softmax", {&x}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor dyc = detail::dense(dy);  // [R, C]
      Tensor dx = Tensor::empty(ys.shape(), ys.dtype());
      kernels::cpu::softmax_backward(ys.dtype(), R, C, ys.raw_data(), dyc.raw_data(), dx.raw_data());
      return {dx};
    });
  }
  return y;
}

}  // namespace sieve::ops
