// INT8 linear products (quantized_linear.h): activation quantization, the prepared weight, and
// the three ways to multiply (quantized_linear_paths.h).
//
// NOTE [INT8 GEMM on AVX2]
// oneDNN 2.6 builds s8·s8 matmuls on AVX2 (gemm:jit, no reference fallback), but without VNNI
// they are neither exact nor fast: the multiply-add is vpmaddubsw on (x + 128) as u8, whose
// pairwise s16 sums saturate for full-range int8 (oneDNN documents this; it expects 7-bit
// weights there), and slower than its own f32 GEMM where int8 multiply-adds have fewer pipes
// than FMAs (Zen 2; docs/compression.md has the measurements). So oneDNN's int8 GEMM is used
// only where oneDNN runs with AVX512-VNNI (vpdpbusd sums in int32). Elsewhere a prefill runs the f32 GEMM on the integer
// values themselves: a sum of at most 1040 products of two values in [−127, 127] stays below
// 2^24, so with K cut into chunks of 1024 every chunk's f32 sum is the exact integer, and the
// chunks add up in int32. Decoding (small N) uses Sieve's own GEMV on every CPU: it streams the
// int8 weight once, which is what bounds it.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/onednn_runtime.h"
#include "sieve/kernels/cpu/quantized_kernels.h"
#include "sieve/kernels/cpu/quantized_linear.h"
#include "sieve/kernels/cpu/quantized_linear_paths.h"
#include "sieve/kernels/cpu/quantized_panels.h"

namespace sieve::kernels::cpu {

using dnnl::memory;

namespace {

// Up to this many rows of x the GEMV (weight streamed once per kGemvMaxRows rows) beats the
// GEMMs (measured on Zen 2, AVX2).
constexpr std::int64_t kInt8GemvMaxN = 8;
// NOTE [INT8 GEMM on AVX2]: f32 sums of ≤ 1040 products of int8 values are exact.
constexpr std::int64_t kExactChunk = 1024;
// oneDNN primitives are cached per shape; dropped wholesale past this many.
constexpr std::size_t kMaxCachedPrimitives = 1024;
// Rows of x the probe primitive that picks the packed weight layout is built for.
constexpr std::int64_t kProbeRows = 64;

std::int64_t padded_k(std::int64_t K) { return (K + kInt8RowAlign - 1) / kInt8RowAlign * kInt8RowAlign; }

// Whether oneDNN runs with AVX512-VNNI here (respects ONEDNN_MAX_CPU_ISA): NOTE [INT8 GEMM on AVX2].
bool onednn_int8_is_exact() {
  static const bool exact = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto vnni = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_vnni);
    return (isa & vnni) == vnni;
  }();
  return exact;
}

// src [N, K] s8 (rows Kp apart) · packed weight → dst [N, M] s32.
memory::desc src_desc(std::int64_t N, std::int64_t K, std::int64_t Kp) {
  return memory::desc({N, K}, memory::data_type::s8, memory::dims{Kp, 1});
}
memory::desc dst_desc(std::int64_t N, std::int64_t M) {
  return memory::desc({N, M}, memory::data_type::s32, memory::dims{M, 1});
}

}  // namespace

struct Int8Weight::Impl {
  std::int64_t M = 0, K = 0, Kp = 0;
  std::vector<std::int8_t> q;  // [M, Kp], zero past K
  std::vector<float> scales;   // [M]

  // The weight in oneDNN's layout for its s8·s8 matmul, made once on first need; empty where
  // oneDNN has no such matmul.
  mutable std::once_flag packed_once;
  mutable std::optional<memory> packed;

  const memory* onednn_weight() const {
    std::call_once(packed_once, [this] {
      try {
        const memory::desc any({K, M}, memory::data_type::s8, memory::format_tag::any);
        const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_desc(kProbeRows, K, Kp), any, dst_desc(kProbeRows, M)),
                                              cpu_engine());
        // q [M, Kp] row-major is the [K, M] operand with strides (1, Kp).
        const memory::desc plain({K, M}, memory::data_type::s8, memory::dims{1, Kp});
        memory source(plain, cpu_engine(), const_cast<std::int8_t*>(q.data()));
        memory target(pd.weights_desc(), cpu_engine());
        dnnl::stream& stream = thread_stream();
        dnnl::reorder(source, target).execute(stream, source, target);
        stream.wait();
        packed = std::move(target);
      } catch (const dnnl::error&) {
        packed.reset();
      }
    });
    return packed ? &*packed : nullptr;
  }
};

Int8Weight::Int8Weight(std::int64_t M, std::int64_t K, const std::int8_t* q, const float* scales)
    : impl_(std::make_unique<Impl>()) {
  SIEVE_CHECK(M >= 0 && K >= 0, "Int8Weight: expected M >= 0 and K >= 0, got M={} K={}", M, K);
  SIEVE_CHECK((q != nullptr || M * K == 0) && (scales != nullptr || M == 0), "Int8Weight: null operand");
  Impl& impl = *impl_;
  impl.M = M;
  impl.K = K;
  impl.Kp = padded_k(K);
  impl.q.assign(static_cast<std::size_t>(M * impl.Kp), 0);
  for (std::int64_t m = 0; m < M; ++m) std::copy(q + m * K, q + (m + 1) * K, impl.q.begin() + m * impl.Kp);
  impl.scales.assign(scales, scales + M);
  if (onednn_int8_is_exact() && M > 0 && K > 0) impl.onednn_weight();
}

Int8Weight::~Int8Weight() = default;

std::int64_t int8_weight_bytes(std::int64_t M, std::int64_t K) {
  const std::int64_t copies = onednn_int8_is_exact() ? 2 : 1;
  const auto q = core::checked_mul(M, padded_k(K));
  const auto copied = q ? core::checked_mul(*q, copies) : std::nullopt;
  const auto scales = core::checked_mul(M, std::int64_t{4});
  const auto all = copied && scales ? core::checked_add(*copied, *scales) : std::nullopt;
  return all.value_or(std::numeric_limits<std::int64_t>::max());
}

std::int64_t Int8Weight::out_features() const { return impl_->M; }
std::int64_t Int8Weight::in_features() const { return impl_->K; }

void quantize_rows_int8(std::int64_t rows, std::int64_t cols, const float* x, std::int8_t* q, float* scales) {
  SIEVE_CHECK(rows >= 0 && cols >= 0, "quantize_rows_int8: expected rows >= 0 and cols >= 0, got rows={} cols={}",
              rows, cols);
  const auto kernel = quantized_kernels().quantize_rows_int8;
  core::parallel_for(rows, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, cols)),
                     [&](std::int64_t begin, std::int64_t end) { kernel(begin, end, cols, x, q, cols, scales, 0.0f); });
}

namespace {

struct Prepared {
  dnnl::matmul primitive;
  memory::desc src_md, dst_md, scratchpad_md;
};

struct CacheKey {
  std::int64_t N, K, M;
  int threads;
  bool operator==(const CacheKey&) const = default;
};

struct CacheKeyHash {
  std::size_t operator()(const CacheKey& k) const {
    std::size_t h = std::hash<std::int64_t>{}(k.N);
    for (std::int64_t v : {k.K, k.M, static_cast<std::int64_t>(k.threads)}) h = h * 1000003u ^ std::hash<std::int64_t>{}(v);
    return h;
  }
};

// The s8·s8 → s32 primitive for [N, K] · packed weight, or null where oneDNN cannot build one
// for that layout (then the caller takes the panel path).
std::shared_ptr<const Prepared> onednn_primitive(const CacheKey& key, std::int64_t Kp, const memory::desc& weight_md) {
  static std::mutex mutex;
  static std::unordered_map<CacheKey, std::shared_ptr<const Prepared>, CacheKeyHash> cache;
  {
    const std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  std::shared_ptr<const Prepared> prepared;
  try {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const memory::desc src = src_desc(key.N, key.K, Kp), dst = dst_desc(key.N, key.M);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weight_md, dst), attr, cpu_engine());
    prepared = std::make_shared<const Prepared>(Prepared{dnnl::matmul(pd), src, dst, pd.scratchpad_desc()});
  } catch (const dnnl::error&) {
  }
  const std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCachedPrimitives) cache.clear();
  return cache.try_emplace(key, std::move(prepared)).first->second;
}

// acc [N, M] int32, stored in y's memory, → y = acc · xscale[n] · wscale[m] (+ bias[m]), in place.
void dequantize_in_place(std::int64_t N, std::int64_t M, const float* xscale, const float* wscale, const float* bias,
                         float* y) {
  core::parallel_for(N, std::max<std::int64_t>(1, 16384 / M), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t n = begin; n < end; ++n) {
      float* yr = y + n * M;
      for (std::int64_t m = 0; m < M; ++m) {
        std::int32_t acc;
        std::memcpy(&acc, yr + m, sizeof acc);
        yr[m] = static_cast<float>(acc) * (xscale[n] * wscale[m]) + (bias != nullptr ? bias[m] : 0.0f);
      }
    }
  });
}

// False where oneDNN has no exact s8·s8 matmul for this weight.
bool int8_onednn(std::int64_t N, const std::int8_t* qx, const float* xscale, const Int8Weight::Impl& w,
                 const float* bias, float* y) {
  if (!onednn_int8_is_exact()) return false;
  const memory* weight = w.onednn_weight();
  if (weight == nullptr) return false;
  // As in matmul.cpp: oneDNN sizes its parallel regions from the calling thread's OpenMP setting.
  int threads = 1;
  if (!omp_in_parallel()) {
    threads = core::num_threads();
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
  }
  const auto prepared = onednn_primitive(CacheKey{N, w.K, w.M, threads}, w.Kp, weight->get_desc());
  if (prepared == nullptr) return false;
  const dnnl::engine& engine = cpu_engine();
  memory src(prepared->src_md, engine, const_cast<std::int8_t*>(qx));
  memory dst(prepared->dst_md, engine, y);
  memory scratch(prepared->scratchpad_md, engine, thread_scratchpad(prepared->scratchpad_md.get_size()));
  dnnl::stream& stream = thread_stream();
  prepared->primitive.execute(stream, {{DNNL_ARG_SRC, src},
                                       {DNNL_ARG_WEIGHTS, *weight},
                                       {DNNL_ARG_DST, dst},
                                       {DNNL_ARG_SCRATCHPAD, scratch}});
  stream.wait();
  dequantize_in_place(N, w.M, xscale, w.scales.data(), bias, y);
  return true;
}

void int8_gemv(std::int64_t N, const std::int8_t* qx, const float* xscale, const Int8Weight::Impl& w,
               const float* bias, float* y) {
  const QuantizedKernels& kernels = quantized_kernels();
  const std::int64_t grain = std::max<std::int64_t>(16, (64 << 10) / w.Kp);
  for (std::int64_t n0 = 0; n0 < N; n0 += kGemvMaxRows) {
    Int8GemvArgs args;
    args.N = std::min(kGemvMaxRows, N - n0);
    args.M = w.M;
    args.Kp = w.Kp;
    args.qx = qx + n0 * w.Kp;
    args.xscale = xscale + n0;
    args.qw = w.q.data();
    args.wscale = w.scales.data();
    args.bias = bias;
    args.y = y + n0 * w.M;
    core::parallel_for(w.M, grain, [&](std::int64_t begin, std::int64_t end) { kernels.int8_gemv(args, begin, end); });
  }
}

// NOTE [INT8 GEMM on AVX2]: the f32 GEMM on exact integer values, K in chunks of kExactChunk.
void int8_panels(std::int64_t N, const std::int8_t* qx, const float* xscale, const Int8Weight::Impl& w,
                 const float* bias, float* y) {
  const QuantizedKernels& kernels = quantized_kernels();
  const std::int64_t K = w.K, Kp = w.Kp, M = w.M;
  // x as f32, chunk by chunk (quantized_panels.h).
  ScratchArray<float> a(N * K);
  core::parallel_for(N, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t k0 = 0; k0 < K; k0 += kExactChunk) {
      const std::int64_t kc = std::min(kExactChunk, K - k0);
      for (std::int64_t n = begin; n < end; ++n) kernels.int8_to_f32(kc, qx + n * Kp + k0, a.data() + N * k0 + n * kc);
    }
  });
  PanelProduct product;
  product.N = N;
  product.M = M;
  product.K = K;
  product.k_chunk = kExactChunk;
  product.a = a.data();
  product.fill = [&](std::int64_t m0, std::int64_t rows, std::int64_t k0, std::int64_t kc, float* panel) {
    for (std::int64_t i = 0; i < rows; ++i) kernels.int8_to_f32(kc, w.q.data() + (m0 + i) * Kp + k0, panel + i * kc);
  };
  product.store = [&](std::int64_t m0, std::int64_t rows, std::int64_t chunk, std::int64_t chunks, const float* c) {
    const float* wscale = w.scales.data() + m0;
    auto finish = [&](auto acc) {
      for (std::int64_t n = 0; n < N; ++n) {
        float* yr = y + n * M + m0;
        for (std::int64_t j = 0; j < rows; ++j)
          yr[j] = static_cast<float>(acc(n * rows + j)) * (xscale[n] * wscale[j]) + (bias != nullptr ? bias[m0 + j] : 0.0f);
      }
    };
    if (chunks == 1) return finish([c](std::int64_t i) { return c[i]; });
    // The chunk sums are exact integers in f32; they add up exactly in int32.
    thread_local std::vector<std::int32_t> sum;
    sum.resize(static_cast<std::size_t>(N * rows));
    for (std::int64_t i = 0; i < N * rows; ++i) {
      const auto v = static_cast<std::int32_t>(c[i]);
      sum[static_cast<std::size_t>(i)] = chunk == 0 ? v : sum[static_cast<std::size_t>(i)] + v;
    }
    if (chunk == chunks - 1) finish([](std::int64_t i) { return sum[static_cast<std::size_t>(i)]; });
  };
  panel_product(product);
}

}  // namespace

namespace detail {

void int8_linear(QuantizedPath path, std::int64_t N, const float* x, const Int8Activation& activation,
                 const Int8Weight& weight, const float* bias, float* y) {
  const Int8Weight::Impl& w = weight.impl();
  SIEVE_CHECK(N >= 0, "int8_linear: expected N >= 0, got N={}", N);
  SIEVE_CHECK(activation.dynamic || activation.static_scale > 0.0f,
              "int8_linear: a static activation scale must be > 0, got {}", activation.static_scale);
  if (N == 0 || w.M == 0) return;
  SIEVE_CHECK(y != nullptr && (x != nullptr || w.K == 0), "int8_linear: null operand");
  if (w.K == 0) {
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t m = 0; m < w.M; ++m) y[n * w.M + m] = bias != nullptr ? bias[m] : 0.0f;
    return;
  }
  // qx [N, Kp], zero past K; xscale [N].
  ScratchArray<std::int8_t> qx(N * w.Kp);
  ScratchArray<float> xscale(N);
  const auto quantize = quantized_kernels().quantize_rows_int8;
  const float static_scale = activation.dynamic ? 0.0f : activation.static_scale;
  core::parallel_for(N, std::max<std::int64_t>(1, 16384 / w.K), [&](std::int64_t begin, std::int64_t end) {
    quantize(begin, end, w.K, x, qx.data(), w.Kp, xscale.data(), static_scale);
    for (std::int64_t n = begin; n < end; ++n) std::fill(qx.data() + n * w.Kp + w.K, qx.data() + (n + 1) * w.Kp, 0);
  });

  if (path == QuantizedPath::automatic)
    path = N <= kInt8GemvMaxN ? QuantizedPath::gemv : onednn_int8_is_exact() ? QuantizedPath::onednn : QuantizedPath::panels;
  if (path == QuantizedPath::gemv) return int8_gemv(N, qx.data(), xscale.data(), w, bias, y);
  if (path == QuantizedPath::onednn && int8_onednn(N, qx.data(), xscale.data(), w, bias, y)) return;
  int8_panels(N, qx.data(), xscale.data(), w, bias, y);
}

}  // namespace detail

void int8_linear(std::int64_t N, const float* x, const Int8Activation& activation, const Int8Weight& weight,
                 const float* bias, float* y) {
  detail::int8_linear(detail::QuantizedPath::automatic, N, x, activation, weight, bias, y);
}

}  // namespace sieve::kernels::cpu
