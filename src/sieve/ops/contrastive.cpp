// contrastive_loss with its backward. Letters: N pairs, C features.
//
// Forward: â, b̂ = normalise(a, b); sim = â b̂ᵀ; z = s·sim; L = symmetric_cross_entropy(z), which
// also gives dL/dz. Backward, for an incoming scalar gradient g and dZ = g · dL/dz:
//   dâ = s · dZ b̂,  db̂ = s · dZᵀ â,  ds = Σ dZ ∘ sim,  d log_temperature = s · ds (0 if clamped),
// then through the normalisation: da = (dâ − â (â·dâ)) / |a| per row, likewise db.
#include "sieve/ops/contrastive.h"

#include <cmath>
#include <string>
#include <vector>

#include "sieve/autograd/node.h"
#include "sieve/kernels/cpu/contrastive.h"
#include "sieve/kernels/cpu/matmul.h"
#include "sieve/ops/op_support.h"

namespace sieve::ops {
namespace {

// c [M, N] = op(a) [M, K] · op(b) [K, N]; a stored [K, M] when trans_a, b stored [N, K] when trans_b.
void gemm(std::int64_t m, std::int64_t n, std::int64_t k, bool trans_a, bool trans_b, const float* a, const float* b,
          float* c) {
  kernels::cpu::MatmulSpec spec;
  spec.m = m;
  spec.n = n;
  spec.k = k;
  spec.trans_a = trans_a;
  spec.trans_b = trans_b;
  kernels::cpu::matmul(spec, a, b, c);
}

void scale_in_place(Tensor& t, float factor) {
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] *= factor;
}

}  // namespace

Tensor contrastive_loss(const Tensor& a, const Tensor& b, const Tensor& log_temperature) {
  const char* op = "contrastive_loss";
  auto shape_of = [](const Tensor& t) { return t.defined() ? core::shape_string(t.shape()) : std::string("undefined"); };
  SIEVE_CHECK(a.defined() && b.defined() && a.dim() == 2 && a.shape() == b.shape() && a.size(0) >= 1,
              "{}: a and b must both be [N, C] with N >= 1, got {} and {}", op, shape_of(a), shape_of(b));
  SIEVE_CHECK(log_temperature.defined() && log_temperature.numel() == 1,
              "{}: log_temperature must hold one value, got {}", op, shape_of(log_temperature));
  for (const Tensor* t : {&a, &b, &log_temperature}) {
    SIEVE_CHECK(t->dtype() == core::DType::f32, "{}: a, b and log_temperature must be f32, got {}", op,
                core::dtype_name(t->dtype()));
  }
  const std::int64_t N = a.size(0), C = a.size(1);
  const float t = detail::dense(log_temperature).data<float>()[0];
  SIEVE_CHECK(std::isfinite(t), "{}: log_temperature is {}", op, t);
  const float max_log_scale = std::log(100.0f);
  const bool clamped = t > max_log_scale;
  const float s = std::exp(clamped ? max_log_scale : t);

  const Tensor ac = detail::dense(a), bc = detail::dense(b);
  Tensor an = Tensor::empty({N, C}), bn = Tensor::empty({N, C});  // â, b̂ [N, C]
  Tensor inv_a = Tensor::empty({N}), inv_b = Tensor::empty({N});  // 1/|a|, 1/|b| [N]
  kernels::cpu::l2_normalize_rows(N, C, ac.data<float>(), an.data<float>(), inv_a.data<float>());
  kernels::cpu::l2_normalize_rows(N, C, bc.data<float>(), bn.data<float>(), inv_b.data<float>());
  Tensor sim = Tensor::empty({N, N});  // â b̂ᵀ [N, N]
  gemm(N, N, C, false, true, an.data<float>(), bn.data<float>(), sim.data<float>());
  Tensor z = sim.clone();  // logits [N, N]
  scale_in_place(z, s);
  Tensor dz = Tensor::empty({N, N});  // dL/dz [N, N]
  const double loss = kernels::cpu::symmetric_cross_entropy(N, z.data<float>(), dz.data<float>());
  Tensor out = Tensor::from_vector(std::vector<float>{static_cast<float>(loss)}, {1});

  if (autograd::needs_grad({&a, &b, &log_temperature})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad(), need_t = log_temperature.requires_grad();
    const core::Shape t_shape = log_temperature.shape();
    autograd::record(out, op, {&a, &b, &log_temperature}, [=](const Tensor& dout) -> std::vector<Tensor> {
      const float g = detail::dense(dout).data<float>()[0];
      Tensor da, db, dt;
      if (need_a) {  // dâ = s·g · dz b̂ [N, C]
        Tensor dan = Tensor::empty({N, C});
        gemm(N, C, N, false, false, dz.data<float>(), bn.data<float>(), dan.data<float>());
        scale_in_place(dan, s * g);
        da = Tensor::empty({N, C});
        kernels::cpu::l2_normalize_rows_backward(N, C, an.data<float>(), inv_a.data<float>(), dan.data<float>(),
                                                 da.data<float>());
      }
      if (need_b) {  // db̂ = s·g · dzᵀ â [N, C]
        Tensor dbn = Tensor::empty({N, C});
        gemm(N, C, N, true, false, dz.data<float>(), an.data<float>(), dbn.data<float>());
        scale_in_place(dbn, s * g);
        db = Tensor::empty({N, C});
        kernels::cpu::l2_normalize_rows_backward(N, C, bn.data<float>(), inv_b.data<float>(), dbn.data<float>(),
                                                 db.data<float>());
      }
      if (need_t) {  // d log_temperature = s · Σ (g·dz) ∘ sim, or 0 past the clamp
        double ds = 0.0;
        const float* dzp = dz.data<float>();
        const float* simp = sim.data<float>();
        for (std::int64_t i = 0; i < N * N; ++i) ds += double(dzp[i]) * simp[i];
        dt = Tensor::from_vector(std::vector<float>{clamped ? 0.0f : static_cast<float>(ds * s * g)}, t_shape);
      }
      return {da, db, dt};
    });
  }
  return out;
}

}  // namespace sieve::ops
