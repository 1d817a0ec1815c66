// masked_mean with its backward (kernels/cpu/pooling.h). Letters: B batch, T tokens, C channels.
#include "sieve/ops/pooling.h"

#include <vector>

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/pooling.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {

Tensor masked_mean(const Tensor& x, std::span<const std::int64_t> lengths) {
  SIEVE_CHECK(x.defined() && x.dim() == 3, "masked_mean: x must be [B, T, C], got {}",
              x.defined() ? core::shape_string(x.shape()) : std::string("undefined"));
  SIEVE_CHECK(x.dtype() == core::DType::f32, "masked_mean: x must be f32, got {}", core::dtype_name(x.dtype()));
  const std::int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  std::vector<std::int64_t> valid(lengths.begin(), lengths.end());  // [B]
  if (valid.empty()) valid.assign(static_cast<std::size_t>(B), T);
  SIEVE_CHECK(static_cast<std::int64_t>(valid.size()) == B, "masked_mean: needs one length per batch ({}), got {}", B,
              valid.size());
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t n = valid[static_cast<std::size_t>(b)];
    SIEVE_CHECK(n >= 1 && n <= T, "masked_mean: lengths[{}] = {} must be in [1, T = {}]", b, n, T);
  }
  const Tensor xc = detail::dense(x);  // [B, T, C]
  Tensor out = Tensor::empty({B, C});  // [B, C]
  kernels::cpu::masked_mean_forward(B, T, C, xc.data<float>(), valid.data(), out.data<float>());
  if (autograd::needs_grad({&x})) {
    autograd::record(out, "masked_mean", {&x}, [=](const Tensor& dout) -> std::vector<Tensor> {
      const Tensor dc = detail::dense(dout);  // [B, C]
      Tensor dx = Tensor::empty({B, T, C});   // [B, T, C]
      kernels::cpu::masked_mean_backward(B, T, C, dc.data<float>(), valid.data(), dx.data<float>());
      return {dx};
    });
  }
  return out;
}

Tensor masked_mean(const Tensor& x, const Tensor& lengths) {
  if (!lengths.defined()) return masked_mean(x, std::span<const std::int64_t>());
  SIEVE_CHECK(lengths.dtype() == core::DType::i64 && lengths.dim() == 1,
              "masked_mean: lengths must be an int64 tensor [B], got {} {}", core::dtype_name(lengths.dtype()),
              core::shape_string(lengths.shape()));
  const Tensor dense = detail::dense(lengths);
  const std::int64_t* first = dense.data<std::int64_t>();
  return masked_mean(x, std::span<const std::int64_t>(first, first + dense.numel()));
}

}  // namespace sieve::ops
