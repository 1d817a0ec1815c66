// Causal depthwise conv1d (depthwise_conv.h). Letters: B batch, T tokens, C channels, K taps.
// The weight is transposed to [K, C] once so every inner loop runs over contiguous channels
// and vectorises; rows (b, t) are independent in the forward and in dx.
#include "sieve/kernels/cpu/depthwise_conv.h"

#include <algorithm>
#include <vector>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/dtype_support.h"

namespace sieve::kernels::cpu {
namespace {

// weight [C, K] → [K, C].
std::vector<float> taps_by_channel(std::int64_t C, std::int64_t K, const float* weight) {
  std::vector<float> wt(static_cast<std::size_t>(K * C));
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t k = 0; k < K; ++k) wt[static_cast<std::size_t>(k * C + c)] = weight[c * K + k];
  return wt;
}

// Rows per parallel chunk: enough work (~32k multiply-adds) to pay for a task.
std::int64_t row_grain(std::int64_t C, std::int64_t K) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, C * K));
}

void check_shape(const char* kernel, std::int64_t B, std::int64_t T, std::int64_t C, std::int64_t K) {
  SIEVE_CHECK(B >= 0 && T >= 0 && C >= 0 && K >= 1, "{}: invalid shape B {} T {} C {} K {}", kernel, B, T, C, K);
}

void forward_f32(std::int64_t B, std::int64_t T, std::int64_t C, std::int64_t K, const float* x, const float* weight,
                 const float* bias, float* out) {
  const std::vector<float> wt = taps_by_channel(C, K, weight);  // [K, C]
  core::parallel_for(B * T, row_grain(C, K), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      const std::int64_t t = row % T;
      float* o = out + row * C;  // [C]
      if (bias)
        std::copy(bias, bias + C, o);
      else
        std::fill(o, o + C, 0.0f);
      // Tap k reads token t − (K − 1) + k of the same sequence; earlier ones are padding.
      for (std::int64_t k = std::max<std::int64_t>(0, K - 1 - t); k < K; ++k) {
        const float* xs = x + (row - (K - 1) + k) * C;
        const float* w = wt.data() + k * C;
        for (std::int64_t c = 0; c < C; ++c) o[c] += w[c] * xs[c];
      }
    }
  });
}

void backward_f32(std::int64_t B, std::int64_t T, std::int64_t C, std::int64_t K, const float* x, const float* weight,
                  const float* dout, float* dx, float* dweight, float* dbias) {
  const std::int64_t rows = B * T;
  if (dx) {
    const std::vector<float> wt = taps_by_channel(C, K, weight);  // [K, C]
    core::parallel_for(rows, row_grain(C, K), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) {
        const std::int64_t s = row % T;
        float* d = dx + row * C;  // [C]
        std::fill(d, d + C, 0.0f);
        // Input s feeds output s + K − 1 − k through tap k; outputs past T do not exist.
        for (std::int64_t k = std::max<std::int64_t>(0, s + K - T); k < K; ++k) {
          const float* g = dout + (row + K - 1 - k) * C;
          const float* w = wt.data() + k * C;
          for (std::int64_t c = 0; c < C; ++c) d[c] += w[c] * g[c];
        }
      }
    });
  }
  if (!dweight && !dbias) return;
  // Partial sums per fixed chunk of rows ([chunks, K + 1, C]: the K taps, then the bias), added
  // in chunk order: the split depends only on the shape, never on the thread count.
  const std::int64_t chunk = std::max<std::int64_t>(256, (rows + 31) / 32);
  const std::int64_t chunks = (rows + chunk - 1) / chunk;
  std::vector<float> partial(static_cast<std::size_t>(chunks * (K + 1) * C), 0.0f);
  core::parallel_for(chunks, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t part = begin; part < end; ++part) {
      float* p = partial.data() + part * (K + 1) * C;  // [K + 1, C]
      for (std::int64_t row = part * chunk; row < std::min(rows, (part + 1) * chunk); ++row) {
        const std::int64_t t = row % T;
        const float* g = dout + row * C;
        for (std::int64_t k = std::max<std::int64_t>(0, K - 1 - t); k < K; ++k) {
          const float* xs = x + (row - (K - 1) + k) * C;
          float* pk = p + k * C;
          for (std::int64_t c = 0; c < C; ++c) pk[c] += g[c] * xs[c];
        }
        float* pb = p + K * C;
        for (std::int64_t c = 0; c < C; ++c) pb[c] += g[c];
      }
    }
  });
  std::vector<float> total(static_cast<std::size_t>((K + 1) * C), 0.0f);  // [K + 1, C]
  for (std::int64_t part = 0; part < chunks; ++part)
    for (std::int64_t i = 0; i < (K + 1) * C; ++i)
      total[static_cast<std::size_t>(i)] += partial[static_cast<std::size_t>(part * (K + 1) * C + i)];
  if (dweight)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t k = 0; k < K; ++k) dweight[c * K + k] = total[static_cast<std::size_t>(k * C + c)];
  if (dbias) std::copy(total.begin() + K * C, total.end(), dbias);
}

}  // namespace

void causal_depthwise_conv1d_forward(core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t C,
                                     std::int64_t K, const void* x, const float* weight, const float* bias, void* out) {
  check_shape("causal_depthwise_conv1d_forward", B, T, C, K);
  switch (dtype) {
    case core::DType::f32:
      forward_f32(B, T, C, K, static_cast<const float*>(x), weight, bias, static_cast<float*>(out));
      return;
    default:
      throw_unsupported_dtype("causal_depthwise_conv1d_forward", dtype);
  }
}

void causal_depthwise_conv1d_backward(core::DType dtype, std::int64_t B, std::int64_t T, std::int64_t C,
                                      std::int64_t K, const void* x, const float* weight, const void* dout, void* dx,
                                      float* dweight, float* dbias) {
  check_shape("causal_depthwise_conv1d_backward", B, T, C, K);
  switch (dtype) {
    case core::DType::f32:
      backward_f32(B, T, C, K, static_cast<const float*>(x), weight, static_cast<const float*>(dout),
                   static_cast<float*>(dx), dweight, dbias);
      return;
    default:
      throw_unsupported_dtype("causal_depthwise_conv1d_backward", dtype);
  }
}

}  // namespace sieve::kernels::cpu
