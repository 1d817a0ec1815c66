// Embedding lookup. Letters: V vocabulary (table rows), C channels, N ids (any shape S
// flattened). Backward scatters into a zeroed table-shaped gradient; it needs only the ids.
#include "sieve/ops/embedding.h"

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/embedding.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {

Tensor embedding(const Tensor& table, const Tensor& ids) {
  SIEVE_CHECK(table.dim() == 2, "embedding: table must be [V, C], got {}", core::shape_string(table.shape()));
  SIEVE_CHECK(ids.dtype() == core::DType::i64, "embedding: ids must be i64, got {} of shape {}",
              core::dtype_name(ids.dtype()), core::shape_string(ids.shape()));
  detail::check_floating(table, "embedding");
  const std::int64_t V = table.size(0), C = table.size(1), N = ids.numel();
  const Tensor tc = detail::dense(table);  // [V, C]
  const Tensor ic = detail::dense(ids);    // [N]
  core::Shape out_shape = ids.shape();
  out_shape.push_back(C);
  Tensor out = Tensor::empty(out_shape, table.dtype());  // [S..., C]
  // The kernel checks every id against [0, V) before writing and names the offending one.
  kernels::cpu::embedding_forward(table.dtype(), N, C, V, tc.raw_data(), ic.data<std::int64_t>(), out.raw_data());
  if (autograd::needs_grad({&table})) {
    const Tensor is = ic.detach();
    const core::DType dtype = table.dtype();
    autograd::record(out, "embedding", {&table}, [=](const Tensor& dout) -> std::vector<Tensor> {
      const Tensor dc = detail::dense(dout);  // [N, C]
      Tensor dtable = Tensor::zeros({V, C});  // f32 whatever the table dtype (the kernel's contract)
      kernels::cpu::embedding_backward(dtype, N, C, V, is.data<std::int64_t>(), dc.raw_data(), dtable.data<float>());
      return {dtable};
    });
  }
  return out;
}

}  // namespace sieve::ops
