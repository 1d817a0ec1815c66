#include "sieve/ops/fake_quantize.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/fake_quantize.h"
#include "sieve/ops/op_support.h"

// Shapes: x, y [R, C] (leading dimensions flattened into R).

namespace sieve::ops {

Tensor fake_quantize(const Tensor& x, std::int64_t group, int qmax) {
  SIEVE_CHECK(x.dtype() == core::DType::f32, "fake_quantize: expected f32, got {}", core::dtype_name(x.dtype()));
  SIEVE_CHECK(x.dim() >= 1 && x.size(-1) > 0, "fake_quantize: expected a non-empty last dimension, got {}",
              core::shape_string(x.shape()));
  SIEVE_CHECK(group >= 0 && qmax > 0, "fake_quantize: expected group >= 0 and qmax > 0, got {} and {}", group, qmax);
  const std::int64_t C = x.size(-1);
  const std::int64_t R = x.numel() / C;
  const Tensor xc = detail::dense(x);
  Tensor y = Tensor::empty(x.shape(), core::DType::f32);
  kernels::cpu::fake_quantize_groups(R, C, group == 0 ? C : group, qmax, xc.data<float>(), y.data<float>());
  if (autograd::needs_grad({&x})) {
    autograd::record(y, "fake_quantize", {&x}, [](const Tensor& dy) -> std::vector<Tensor> { return {dy}; });
  }
  return y;
}

}  // namespace sieve::ops
