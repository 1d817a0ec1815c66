// Causal depthwise conv1d with its backward. Letters: B batch, T tokens, C channels, K taps.
#include "sieve/ops/conv1d.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/depthwise_conv.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {

using core::DType;

Tensor causal_depthwise_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const char* op = "causal_depthwise_conv1d";
  SIEVE_CHECK(x.defined() && x.dim() == 3, "{}: x must be [B, T, C], got {}", op,
              x.defined() ? core::shape_string(x.shape()) : std::string("undefined"));
  SIEVE_CHECK(x.dtype() == DType::f32, "{}: x must be f32, got {}", op, core::dtype_name(x.dtype()));
  const std::int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  SIEVE_CHECK(weight.defined() && weight.dim() == 2 && weight.size(0) == C && weight.size(1) >= 1,
              "{}: weight must be [{}, K] with K >= 1 for x {}, got {}", op, C, core::shape_string(x.shape()),
              weight.defined() ? core::shape_string(weight.shape()) : std::string("undefined"));
  SIEVE_CHECK(weight.dtype() == DType::f32, "{}: weight must be f32, got {}", op, core::dtype_name(weight.dtype()));
  if (bias.defined()) {
    SIEVE_CHECK(bias.dim() == 1 && bias.size(0) == C, "{}: bias must be [{}] for x {}, got {}", op, C,
                core::shape_string(x.shape()), core::shape_string(bias.shape()));
    SIEVE_CHECK(bias.dtype() == DType::f32, "{}: bias must be f32, got {}", op, core::dtype_name(bias.dtype()));
  }
  const std::int64_t K = weight.size(1);
  const Tensor xc = detail::dense(x);       // [B, T, C]
  const Tensor wc = detail::dense(weight);  // [C, K]
  const Tensor bc = bias.defined() ? detail::dense(bias) : Tensor();
  Tensor out = Tensor::empty({B, T, C});
  kernels::cpu::causal_depthwise_conv1d_forward(DType::f32, B, T, C, K, xc.raw_data(), wc.data<float>(),
                                                bc.defined() ? bc.data<float>() : nullptr, out.raw_data());
  if (autograd::needs_grad({&x, &weight, &bias})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool need_b = bias.defined() && bias.requires_grad();
    const Tensor xs = xc.detach(), ws = wc.detach();
    autograd::record(out, op, {&x, &weight, &bias}, [=](const Tensor& dout) -> std::vector<Tensor> {
      const Tensor dc = detail::dense(dout);  // [B, T, C]
      Tensor dx = need_x ? Tensor::empty({B, T, C}) : Tensor();
      Tensor dweight = need_w ? Tensor::empty({C, K}) : Tensor();
      Tensor dbias = need_b ? Tensor::empty({C}) : Tensor();
      kernels::cpu::causal_depthwise_conv1d_backward(DType::f32, B, T, C, K, xs.raw_data(), ws.data<float>(),
                                                     dc.raw_data(), need_x ? dx.raw_data() : nullptr,
                                                     need_w ? dweight.data<float>() : nullptr,
                                                     need_b ? dbias.data<float>() : nullptr);
      return {dx, dweight, dbias};
    });
  }
  return out;
}

}  // namespace sieve::ops
