// RMSNorm and LayerNorm over the last dimension. Letters: R rows (every leading dimension
// flattened), C channels. Activations keep their dtype; weight and bias are f32 (the kernels'
// contract), as are the saved statistics mean/rstd [R].
#include "sieve/ops/norm.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/norm.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {
namespace {

using core::DType;

// Checks x [..., C] against a per-channel parameter [C] and returns C.
std::int64_t check_norm_shapes(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SIEVE_CHECK(x.dim() >= 1, "{}: x must have at least one dimension, got {}", op, core::shape_string(x.shape()));
  detail::check_floating(x, op);
  const std::int64_t C = x.size(-1);
  SIEVE_CHECK(weight.defined() && weight.dim() == 1 && weight.size(0) == C,
              "{}: weight must be [{}] for x {}, got {}", op, C, core::shape_string(x.shape()),
              weight.defined() ? core::shape_string(weight.shape()) : std::string("undefined"));
  SIEVE_CHECK(weight.dtype() == DType::f32, "{}: weight must be f32, got {}", op, core::dtype_name(weight.dtype()));
  if (bias.defined()) {
    SIEVE_CHECK(bias.dim() == 1 && bias.size(0) == C, "{}: bias must be [{}] for x {}, got {}", op, C,
                core::shape_string(x.shape()), core::shape_string(bias.shape()));
    SIEVE_CHECK(bias.dtype() == DType::f32, "{}: bias must be f32, got {}", op, core::dtype_name(bias.dtype()));
  }
  return C;
}

}  // namespace

Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  const std::int64_t C = check_norm_shapes("rms_norm", x, weight, Tensor());
  const std::int64_t R = C == 0 ? 0 : x.numel() / C;
  const Tensor xc = detail::dense(x);       // [R, C]
  const Tensor wc = detail::dense(weight);  // [C]
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const bool record = autograd::needs_grad({&x, &weight});
  // rstd [R] is what backward needs besides x and weight; skip it for inference.
  Tensor rstd = record ? Tensor::empty({R}) : Tensor();
  kernels::cpu::rmsnorm_forward(x.dtype(), R, C, xc.raw_data(), wc.data<float>(), eps, y.raw_data(),
                                record ? rstd.data<float>() : nullptr);
  if (record) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const Tensor xs = xc.detach(), ws = wc.detach();
    autograd::record(y, "rms_norm", {&x, &weight}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor dyc = detail::dense(dy);  // [R, C]
      Tensor dx = Tensor::empty(xs.shape(), xs.dtype());
      Tensor dweight = Tensor::zeros({C});  // the kernel accumulates into it
      kernels::cpu::rmsnorm_backward(xs.dtype(), R, C, xs.raw_data(), ws.data<float>(), rstd.data<float>(),
                                     dyc.raw_data(), dx.raw_data(), dweight.data<float>());
      return {need_x ? dx : Tensor(), need_w ? dweight : Tensor()};
    });
  }
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  const std::int64_t C = check_norm_shapes("layer_norm", x, weight, bias);
  const std::int64_t R = C == 0 ? 0 : x.numel() / C;
  const Tensor xc = detail::dense(x);       // [R, C]
  const Tensor wc = detail::dense(weight);  // [C]
  const Tensor bc = bias.defined() ? detail::dense(bias) : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const bool record = autograd::needs_grad({&x, &weight, &bias});
  Tensor mean = record ? Tensor::empty({R}) : Tensor();  // [R]
  Tensor rstd = record ? Tensor::empty({R}) : Tensor();  // [R]
  kernels::cpu::layernorm_forward(x.dtype(), R, C, xc.raw_data(), wc.data<float>(),
                                  bc.defined() ? bc.data<float>() : nullptr, eps, y.raw_data(),
                                  record ? mean.data<float>() : nullptr, record ? rstd.data<float>() : nullptr);
  if (record) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool need_b = bias.defined() && bias.requires_grad();
    const Tensor xs = xc.detach(), ws = wc.detach();
    autograd::record(y, "layer_norm", {&x, &weight, &bias}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor dyc = detail::dense(dy);  // [R, C]
      Tensor dx = Tensor::empty(xs.shape(), xs.dtype());
      Tensor dweight = Tensor::zeros({C});
      Tensor dbias = need_b ? Tensor::zeros({C}) : Tensor();
      kernels::cpu::layernorm_backward(xs.dtype(), R, C, xs.raw_data(), ws.data<float>(), mean.data<float>(),
                                       rstd.data<float>(), dyc.raw_data(), dx.raw_data(), dweight.data<float>(),
                                       need_b ? dbias.data<float>() : nullptr);
      return {need_x ? dx : Tensor(), need_w ? dweight : Tensor(), dbias};
    });
  }
  return y;
}

}  // namespace sieve::ops
