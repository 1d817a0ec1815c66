// INT4 weight-only linear products (quantized_linear.h): packing, a GEMV for decoding that
// streams the packed weight once, and a panel-dequantizing f32 GEMM for prefill.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/quantized_kernels.h"
#include "sieve/kernels/cpu/quantized_linear.h"
#include "sieve/kernels/cpu/quantized_linear_paths.h"
#include "sieve/kernels/cpu/quantized_panels.h"

namespace sieve::kernels::cpu {
namespace {

// Above this many rows of x the GEMV, which re-streams the weight every kGemvMaxRows rows, loses
// to dequantized panels in the f32 GEMM (measured on Zen 2, AVX2).
constexpr std::int64_t kInt4GemvMaxN = 8;

void check_int4_shape(const char* what, std::int64_t M, std::int64_t K, std::int64_t G) {
  SIEVE_CHECK(M >= 0 && K >= 0, "{}: expected M >= 0 and K >= 0, got M={} K={}", what, M, K);
  SIEVE_CHECK(G >= kInt4MinGroup && G <= kInt4MaxGroup && G % 32 == 0,
              "{}: group size G={} must be a multiple of 32 in [{}, {}]", what, G, kInt4MinGroup, kInt4MaxGroup);
}

// Rows of W a GEMV task takes: about 64 KiB of packed weight.
std::int64_t gemv_grain(std::int64_t K) { return std::max<std::int64_t>(16, (64 << 10) / std::max<std::int64_t>(1, K / 2)); }

void int4_gemv(std::int64_t N, std::int64_t M, std::int64_t K, std::int64_t G, const float* x,
               const std::uint8_t* packed, const float* scales, const float* bias, float* y) {
  const QuantizedKernels& kernels = quantized_kernels();
  const std::int64_t half = (K + 1) / 2;
  const std::int64_t stride = (half + kInt4HalfRowAlign - 1) / kInt4HalfRowAlign * kInt4HalfRowAlign;
  const std::int64_t groups = (K + G - 1) / G;
  ScratchArray<float> xe(kGemvMaxRows * stride), xo(kGemvMaxRows * stride), xsum(kGemvMaxRows * groups);
  for (std::int64_t n0 = 0; n0 < N; n0 += kGemvMaxRows) {
    const std::int64_t rows = std::min(kGemvMaxRows, N - n0);
    // x [rows, K] → xe, xo [rows, stride]: even and odd k apart, zero past K.
    for (std::int64_t n = 0; n < rows; ++n) {
      const float* xr = x + (n0 + n) * K;
      float* e = xe.data() + n * stride;
      float* o = xo.data() + n * stride;
      for (std::int64_t j = 0; j < K / 2; ++j) {
        e[j] = xr[2 * j];
        o[j] = xr[2 * j + 1];
      }
      std::fill(e + K / 2, e + stride, 0.0f);
      std::fill(o + K / 2, o + stride, 0.0f);
      if (K % 2 == 1) e[K / 2] = xr[K - 1];
      for (std::int64_t g = 0; g < groups; ++g) {
        float sum = 0.0f;
        for (std::int64_t k = g * G; k < std::min(K, (g + 1) * G); ++k) sum += xr[k];
        xsum.data()[n * groups + g] = sum;
      }
    }
    Int4GemvArgs args;
    args.N = rows;
    args.M = M;
    args.K = K;
    args.G = G;
    args.xe = xe.data();
    args.xo = xo.data();
    args.x_stride = stride;
    args.xsum = xsum.data();
    args.packed = packed;
    args.scales = scales;
    args.bias = bias;
    args.y = y + n0 * M;
    core::parallel_for(M, gemv_grain(K), [&](std::int64_t begin, std::int64_t end) {
      kernels.int4_gemv(args, begin, end);
    });
  }
}

void int4_panels(std::int64_t N, std::int64_t M, std::int64_t K, std::int64_t G, const float* x,
                 const std::uint8_t* packed, const float* scales, const float* bias, float* y) {
  const QuantizedKernels& kernels = quantized_kernels();
  PanelProduct product;
  product.N = N;
  product.M = M;
  product.K = K;
  product.k_chunk = K;
  product.a = x;
  product.fill = [&](std::int64_t m0, std::int64_t rows, std::int64_t, std::int64_t, float* w) {
    kernels.int4_dequantize(m0, rows, K, G, packed, scales, w);
  };
  product.store = [&](std::int64_t m0, std::int64_t rows, std::int64_t, std::int64_t, const float* c) {
    for (std::int64_t n = 0; n < N; ++n) {
      float* yr = y + n * M + m0;
      const float* cr = c + n * rows;
      if (bias != nullptr)
        for (std::int64_t j = 0; j < rows; ++j) yr[j] = cr[j] + bias[m0 + j];
      else
        std::memcpy(yr, cr, static_cast<std::size_t>(rows) * sizeof(float));
    }
  };
  panel_product(product);
}

}  // namespace

void quantize_int4(std::int64_t M, std::int64_t K, std::int64_t G, const float* w, std::uint8_t* packed,
                   float* scales) {
  check_int4_shape("quantize_int4", M, K, G);
  if (K == 0) return;  // nothing to pack (packed and scales may be null)
  const std::int64_t row_bytes = (K + 1) / 2;
  const std::int64_t groups = (K + G - 1) / G;
  core::parallel_for(M, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, K)),
                     [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t m = begin; m < end; ++m) {
      const float* wr = w + m * K;
      std::uint8_t* pr = packed + m * row_bytes;
      std::memset(pr, 0x88, static_cast<std::size_t>(row_bytes));  // every nibble 8: weight 0
      for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t k0 = g * G, k1 = std::min(K, k0 + G);
        float amax = 0.0f;
        for (std::int64_t k = k0; k < k1; ++k) amax = std::max(amax, std::abs(wr[k]));
        const float scale = amax > 0.0f ? amax / 7.0f : 1.0f;
        scales[m * groups + g] = scale;
        for (std::int64_t k = k0; k < k1; ++k) {
          const int q = static_cast<int>(std::clamp(std::round(wr[k] / scale), -7.0f, 7.0f));
          const auto nibble = static_cast<std::uint8_t>(q + 8);
          std::uint8_t& byte = pr[k / 2];
          byte = k % 2 == 0 ? static_cast<std::uint8_t>((byte & 0xf0) | nibble)
                            : static_cast<std::uint8_t>((byte & 0x0f) | (nibble << 4));
        }
      }
    }
  });
}

namespace detail {

void int4_linear(QuantizedPath path, std::int64_t N, std::int64_t M, std::int64_t K, std::int64_t G,
                 const float* x, const std::uint8_t* packed, const float* scales, const float* bias, float* y) {
  check_int4_shape("int4_linear", M, K, G);
  SIEVE_CHECK(N >= 0, "int4_linear: expected N >= 0, got N={}", N);
  if (N == 0 || M == 0) return;
  SIEVE_CHECK(y != nullptr, "int4_linear: null output");
  if (K == 0) {
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t m = 0; m < M; ++m) y[n * M + m] = bias != nullptr ? bias[m] : 0.0f;
    return;
  }
  SIEVE_CHECK(x != nullptr && packed != nullptr && scales != nullptr, "int4_linear: null operand");
  if (path == QuantizedPath::automatic) path = N <= kInt4GemvMaxN ? QuantizedPath::gemv : QuantizedPath::panels;
  if (path == QuantizedPath::gemv)
    int4_gemv(N, M, K, G, x, packed, scales, bias, y);
  else
    int4_panels(N, M, K, G, x, packed, scales, bias, y);
}

}  // namespace detail

void int4_linear(std::int64_t N, std::int64_t M, std::int64_t K, std::int64_t G, const float* x,
                 const std::uint8_t* packed, const float* scales, const float* bias, float* y) {
  detail::int4_linear(detail::QuantizedPath::automatic, N, M, K, G, x, packed, scales, bias, y);
}

}  // namespace sieve::kernels::cpu
