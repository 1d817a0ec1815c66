// Inverted dropout. Letters: n elements (any shape flattened). The forward keeps its u8 mask
// [n] for backward (a quarter of the activation's bytes) rather than regenerating it.
#include "sieve/ops/dropout.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/dropout.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {

Tensor dropout(const Tensor& x, float p, std::uint64_t seed) {
  SIEVE_CHECK(p >= 0.0f && p <= 1.0f, "dropout: p must be in [0, 1], got {}", p);
  detail::check_floating(x, "dropout");
  if (p == 0.0f) return x;
  const Tensor xc = detail::dense(x);  // [n]
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor mask = Tensor::empty(x.shape(), core::DType::u8);  // [n], 1 = kept
  kernels::cpu::dropout_forward(x.dtype(), x.numel(), p, seed, xc.raw_data(), y.raw_data(), mask.data<std::uint8_t>());
  if (autograd::needs_grad({&x})) {
    autograd::record(y, "dropout", {&x}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor dyc = detail::dense(dy);
      Tensor dx = Tensor::empty(dyc.shape(), dyc.dtype());
      kernels::cpu::dropout_backward(dyc.dtype(), dyc.numel(), p, mask.data<std::uint8_t>(), dyc.raw_data(),
                                     dx.raw_data());
      return {dx};
    });
  }
  return y;
}

}  // namespace sieve::ops
