// RMSNorm / LayerNorm row kernels, written once against a Simd traits type and instantiated per
// ISA: norm.cpp (scalar), norm_avx2.cpp, norm_avx512.cpp. norm.cpp picks a set at run time and
// splits the rows across threads. Shapes as in norm.h: x, y, dy, dx [rows, C]; every function
// here handles the rows [begin, end).
#pragma once

#include <cstdint>

#include "sieve/kernels/cpu/simd_loops.h"

namespace sieve::kernels::cpu {

struct NormRowKernels {
  void (*rmsnorm_forward_f32)(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x,
                              const float* weight, float eps, float* y, float* rstd);
  // dweight_partial [C] is this row block's own accumulator (+=); norm.cpp sums the blocks.
  void (*rmsnorm_backward_f32)(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x,
                               const float* weight, const float* rstd, const float* dy, float* dx,
                               float* dweight_partial);
  void (*layernorm_forward_f32)(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x,
                                const float* weight, const float* bias, float eps, float* y, float* mean,
                                float* rstd);
  void (*layernorm_backward_f32)(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x,
                                 const float* weight, const float* mean, const float* rstd, const float* dy,
                                 float* dx, float* dweight_partial, float* dbias_partial);
};

namespace avx512 {
NormRowKernels norm_row_kernels();
}
namespace avx2 {
NormRowKernels norm_row_kernels();
}

template <class S>
void rmsnorm_forward_rows(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x,
                          const float* weight, float eps, float* y, float* rstd) {
  using F = typename S::F;
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * C;  // [C]
    float* yr = y + r * C;        // [C]
    const float mean_square = row_dot<S>(xr, xr, C) / static_cast<float>(C);
    const float rs = 1.0f / S::sqrt(mean_square + eps);
    if (rstd != nullptr) rstd[r] = rs;
    const F rs_v = S::set1(rs);
    for_each_vector<S>(C, [&](std::int64_t i, std::int64_t len) {
      const F xv = load_n<S>(xr + i, len);
      store_n<S>(yr + i, S::mul(S::mul(xv, rs_v), load_n<S>(weight + i, len)), len);
    });
  }
}

template <class S>
void rmsnorm_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x,
                           const float* weight, const float* rstd, const float* dy, float* dx,
                           float* dweight_partial) {
  using F = typename S::F;
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * C;    // [C]
    const float* dyr = dy + r * C;  // [C]
    float* dxr = dx + r * C;        // [C]
    const float rs = rstd[r];
    // dot = sum_j dy_j w_j x_j; the rstd^3 term is the gradient through the row's mean square.
    const F dot_v = fold_vectors<S>(
        C, S::zero(),
        [&](F a, std::int64_t i, std::int64_t len) {
          const F g = S::mul(load_n<S>(dyr + i, len), load_n<S>(weight + i, len));
          return S::fmadd(g, load_n<S>(xr + i, len), a);
        },
        [](F a, F b) { return S::add(a, b); });
    const float coef = rs * rs * rs * S::reduce_add(dot_v) / static_cast<float>(C);
    const F rs_v = S::set1(rs);
    const F coef_v = S::set1(coef);
    for_each_vector<S>(C, [&](std::int64_t i, std::int64_t len) {
      const F xv = load_n<S>(xr + i, len);
      const F dyv = load_n<S>(dyr + i, len);
      const F g = S::mul(dyv, load_n<S>(weight + i, len));
      store_n<S>(dxr + i, S::fnmadd(coef_v, xv, S::mul(rs_v, g)), len);
      const F dw = load_n<S>(dweight_partial + i, len);
      store_n<S>(dweight_partial + i, S::fmadd(dyv, S::mul(xv, rs_v), dw), len);
    });
  }
}

template <class S>
void layernorm_forward_rows(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x,
                            const float* weight, const float* bias, float eps, float* y, float* mean,
                            float* rstd) {
  using F = typename S::F;
  const float inv_c = 1.0f / static_cast<float>(C);
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * C;  // [C]
    float* yr = y + r * C;        // [C]
    // Two passes (mean, then squared deviations) so a large mean does not cancel the variance.
    const float mu = row_sum<S>(xr, C) * inv_c;
    const F mu_v = S::set1(mu);
    const F var_v = fold_vectors<S>(
        C, S::zero(),
        [&](F a, std::int64_t i, std::int64_t len) {
          // Tail lanes load mu, so they add (mu - mu)^2 = 0.
          const F d = S::sub(load_n<S>(xr + i, len, mu), mu_v);
          return S::fmadd(d, d, a);
        },
        [](F a, F b) { return S::add(a, b); });
    const float rs = 1.0f / S::sqrt(S::reduce_add(var_v) * inv_c + eps);
    if (mean != nullptr) mean[r] = mu;
    if (rstd != nullptr) rstd[r] = rs;
    const F rs_v = S::set1(rs);
    for_each_vector<S>(C, [&](std::int64_t i, std::int64_t len) {
      const F xhat = S::mul(S::sub(load_n<S>(xr + i, len), mu_v), rs_v);
      const F b = bias != nullptr ? load_n<S>(bias + i, len) : S::zero();
      store_n<S>(yr + i, S::fmadd(xhat, load_n<S>(weight + i, len), b), len);
    });
  }
}

template <class S>
void layernorm_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t C, const float* x,
                             const float* weight, const float* mean, const float* rstd, const float* dy,
                             float* dx, float* dweight_partial, float* dbias_partial) {
  using F = typename S::F;
  const float inv_c = 1.0f / static_cast<float>(C);
  const auto add = [](F a, F b) { return S::add(a, b); };
  for (std::int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * C;    // [C]
    const float* dyr = dy + r * C;  // [C]
    float* dxr = dx + r * C;        // [C]
    const F mu_v = S::set1(mean[r]);
    const F rs_v = S::set1(rstd[r]);
    // The mean(g) and mean(g * xhat) terms are the gradients through the row's mean and variance.
    const float mean_g =
        S::reduce_add(fold_vectors<S>(
            C, S::zero(),
            [&](F a, std::int64_t i, std::int64_t len) {
              return S::fmadd(load_n<S>(dyr + i, len), load_n<S>(weight + i, len), a);
            },
            add)) *
        inv_c;
    const float mean_gx =
        S::reduce_add(fold_vectors<S>(
            C, S::zero(),
            [&](F a, std::int64_t i, std::int64_t len) {
              const F xhat = S::mul(S::sub(load_n<S>(xr + i, len), mu_v), rs_v);
              const F g = S::mul(load_n<S>(dyr + i, len), load_n<S>(weight + i, len));
              return S::fmadd(g, xhat, a);
            },
            add)) *
        inv_c;
    const F mean_g_v = S::set1(mean_g);
    const F mean_gx_v = S::set1(mean_gx);
    for_each_vector<S>(C, [&](std::int64_t i, std::int64_t len) {
      const F dyv = load_n<S>(dyr + i, len);
      const F xhat = S::mul(S::sub(load_n<S>(xr + i, len), mu_v), rs_v);
      const F g = S::mul(dyv, load_n<S>(weight + i, len));
      const F inner = S::fnmadd(xhat, mean_gx_v, S::sub(g, mean_g_v));
      store_n<S>(dxr + i, S::mul(rs_v, inner), len);
      store_n<S>(dweight_partial + i, S::fmadd(dyv, xhat, load_n<S>(dweight_partial + i, len)), len);
      if (dbias_partial != nullptr) {
        store_n<S>(dbias_partial + i, S::add(dyv, load_n<S>(dbias_partial + i, len)), len);
      }
    });
  }
}

template <class S>
NormRowKernels make_norm_row_kernels() {
  return {&rmsnorm_forward_rows<S>, &rmsnorm_backward_rows<S>, &layernorm_forward_rows<S>,
          &layernorm_backward_rows<S>};
}

}  // namespace sieve::kernels::cpu
