// Rotary position embedding. Letters: B batch, T tokens, H heads, D head dim (even).
// A rotation is linear and orthogonal, so backward needs nothing saved: it rotates the
// gradient back by the same angles.
#include "sieve/ops/rope.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/rope.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {

Tensor rope(const Tensor& x, std::int64_t position_offset, float theta) {
  SIEVE_CHECK(x.dim() == 4 && x.size(3) % 2 == 0, "rope: x must be [B, T, H, D] with D even, got {}",
              core::shape_string(x.shape()));
  SIEVE_CHECK(position_offset >= 0, "rope: position_offset must be >= 0, got {}", position_offset);
  SIEVE_CHECK(theta > 0.0f, "rope: theta must be positive, got {}", theta);
  detail::check_floating(x, "rope");
  const std::int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
  const Tensor xc = detail::dense(x);  // [B, T, H, D]
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  kernels::cpu::rope_forward(x.dtype(), B, T, H, D, position_offset, theta, xc.raw_data(), y.raw_data());
  if (autograd::needs_grad({&x})) {
    autograd::record(y, "rope", {&x}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor dyc = detail::dense(dy);  // [B, T, H, D]
      Tensor dx = Tensor::empty(dyc.shape(), dyc.dtype());
      kernels::cpu::rope_backward(dyc.dtype(), B, T, H, D, position_offset, theta, dyc.raw_data(), dx.raw_data());
      return {dx};
    });
  }
  return y;
}

}  // namespace sieve::ops
