// conv2d with its backward (kernels/cpu/conv2d.h: im2col + GEMM). Letters: B batch, H W input
// size, Ci Co channels, KH KW kernel, Ho Wo output size.
#include "sieve/ops/conv2d.h"

#include <string>

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/conv2d.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {

using core::DType;

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  const char* op = "conv2d";
  auto shape_of = [](const Tensor& t) { return t.defined() ? core::shape_string(t.shape()) : std::string("undefined"); };
  SIEVE_CHECK(x.defined() && x.dim() == 4, "{}: x must be [B, H, W, Ci] (channels last), got {}", op, shape_of(x));
  const std::int64_t B = x.size(0), H = x.size(1), W = x.size(2), Ci = x.size(3);
  SIEVE_CHECK(weight.defined() && weight.dim() == 4 && weight.size(3) == Ci,
              "{}: weight must be [Co, KH, KW, Ci={}] for x {}, got {}", op, Ci, shape_of(x), shape_of(weight));
  const std::int64_t Co = weight.size(0), KH = weight.size(1), KW = weight.size(2);
  if (bias.defined()) {
    SIEVE_CHECK(bias.dim() == 1 && bias.size(0) == Co, "{}: bias must be [{}] for weight {}, got {}", op, Co,
                shape_of(weight), shape_of(bias));
    SIEVE_CHECK(bias.dtype() == DType::f32, "{}: bias must be f32, got {}", op, core::dtype_name(bias.dtype()));
  }
  SIEVE_CHECK(x.dtype() == DType::f32 && weight.dtype() == DType::f32, "{}: x and weight must be f32, got {} and {}",
              op, core::dtype_name(x.dtype()), core::dtype_name(weight.dtype()));
  SIEVE_CHECK(options.stride_h >= 1 && options.stride_w >= 1 && options.pad_h >= 0 && options.pad_w >= 0,
              "{}: strides must be >= 1 and padding >= 0, got stride {}x{}, padding {}x{}", op, options.stride_h,
              options.stride_w, options.pad_h, options.pad_w);
  SIEVE_CHECK(H > 0 && W > 0 && Ci > 0 && Co > 0 && KH > 0 && KW > 0, "{}: empty x {} or weight {}", op, shape_of(x),
              shape_of(weight));
  SIEVE_CHECK(H + 2 * options.pad_h >= KH && W + 2 * options.pad_w >= KW,
              "{}: kernel {}x{} is larger than the padded input {}x{} (x {}, padding {}x{})", op, KH, KW,
              H + 2 * options.pad_h, W + 2 * options.pad_w, shape_of(x), options.pad_h, options.pad_w);

  const kernels::cpu::Conv2dShape shape{B,  H,  W,  Ci, Co, KH, KW, options.stride_h, options.stride_w,
                                        options.pad_h, options.pad_w};
  const std::int64_t Ho = shape.out_height(), Wo = shape.out_width();
  const Tensor xc = detail::dense(x);       // [B, H, W, Ci]
  const Tensor wc = detail::dense(weight);  // [Co, KH, KW, Ci]
  const Tensor bc = bias.defined() ? detail::dense(bias) : Tensor();
  Tensor out = Tensor::empty({B, Ho, Wo, Co});
  kernels::cpu::conv2d_forward(DType::f32, shape, xc.raw_data(), wc.raw_data(), bc.defined() ? bc.raw_data() : nullptr,
                               out.raw_data());
  if (autograd::needs_grad({&x, &weight, &bias})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool need_b = bias.defined() && bias.requires_grad();
    // x is kept only for dweight, weight only for dx.
    const Tensor xs = need_w ? xc.detach() : Tensor(), ws = need_x ? wc.detach() : Tensor();
    autograd::record(out, op, {&x, &weight, &bias}, [=](const Tensor& dout) -> std::vector<Tensor> {
      const Tensor dc = detail::dense(dout);  // [B, Ho, Wo, Co]
      Tensor dx = need_x ? Tensor::empty({B, H, W, Ci}) : Tensor();
      Tensor dweight = need_w ? Tensor::empty({Co, KH, KW, Ci}) : Tensor();
      Tensor dbias = need_b ? Tensor::empty({Co}) : Tensor();
      kernels::cpu::conv2d_backward(DType::f32, shape, need_w ? xs.raw_data() : nullptr,
                                    need_x ? ws.raw_data() : nullptr, dc.raw_data(),
                                    need_x ? dx.raw_data() : nullptr, need_w ? dweight.raw_data() : nullptr,
                                    need_b ? dbias.raw_data() : nullptr);
      return {dx, dweight, dbias};
    });
  }
  return out;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::int64_t stride, std::int64_t padding) {
  return conv2d(x, weight, bias, Conv2dOptions{stride, stride, padding, padding});
}

}  // namespace sieve::ops
