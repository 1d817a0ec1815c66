#include "sieve/kernels/cpu/matmul.h"

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sieve/core/allocator.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/convert.h"
#include "sieve/kernels/cpu/onednn_runtime.h"

// Shape letters: B batch, M rows of C, N columns of C, K the contracted dimension.
//
// NOTE [matmul primitive cache]
// Creating a oneDNN primitive costs far more than running a small GEMM (it picks an
// implementation and JIT-compiles kernels), so primitives are cached by the full spec plus the
// thread count they were created for (oneDNN's blocking depends on it). The mutex guards only
// the map: lookup and insertion. Primitive creation and execution run without it, so threads
// never wait on each other's GEMMs. A oneDNN primitive is immutable once created and may be
// executed from several threads at once; what is per call (memory objects, scratchpad) or per
// thread (stream) is kept out of the cache entry.
//
// NOTE [bf16 without a bf16 GEMM]: oneDNN has bf16 matmul kernels only from AVX-512 on (native
// with AVX512-BF16, emulated by oneDNN on plain AVX-512); on AVX2 it cannot build one, nor when
// ONEDNN_MAX_CPU_ISA caps it below AVX-512. There the bf16 operands are widened to f32 (exact)
// and multiplied by the f32 GEMM: a product of two bf16 values is exact in f32 and the sums
// accumulate in f32, so the result is the one a bf16 GEMM with f32 accumulation gives, up to
// summation order. A bf16 C is computed in f32 and rounded once at the end, as oneDNN does.

namespace sieve::kernels::cpu {
namespace {

using dnnl::memory;
using core::DType;

// Distinct shapes are few in training; a server with ragged batches could create many, so the
// cache is dropped wholesale when it grows past this (entries in use stay alive via shared_ptr).
constexpr std::size_t kMaxCachedPrimitives = 1024;

struct CacheKey {
  MatmulSpec spec;
  int threads = 1;
  bool operator==(const CacheKey&) const = default;
};

struct CacheKeyHash {
  std::size_t operator()(const CacheKey& key) const {
    const MatmulSpec& s = key.spec;
    std::size_t h = 0;
    auto mix = [&h](std::uint64_t v) { h ^= std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
    mix(static_cast<std::uint64_t>(s.a_dtype) | static_cast<std::uint64_t>(s.b_dtype) << 8 |
        static_cast<std::uint64_t>(s.c_dtype) << 16 | std::uint64_t{s.trans_a} << 24 |
        std::uint64_t{s.trans_b} << 25 | std::uint64_t{s.accumulate} << 26 |
        std::uint64_t{s.broadcast_b} << 27 | static_cast<std::uint64_t>(key.threads) << 32);
    mix(static_cast<std::uint64_t>(s.batch));
    mix(static_cast<std::uint64_t>(s.m));
    mix(static_cast<std::uint64_t>(s.n));
    mix(static_cast<std::uint64_t>(s.k));
    return h;
  }
};

struct Prepared {
  dnnl::matmul primitive;
  memory::desc a_md, b_md, c_md, scratchpad_md;
  bool widened = false;  // an f32 primitive standing in for a bf16 one (NOTE [bf16 without a bf16 GEMM])
};

memory::data_type to_dnnl(DType dtype) {
  switch (dtype) {
    case DType::f32: return memory::data_type::f32;
    case DType::bf16: return memory::data_type::bf16;
    default: break;
  }
  SIEVE_CHECK(false, "matmul: dtype {} is not supported (f32 or bf16 expected)", core::dtype_name(dtype));
}

// Throws dnnl::error when oneDNN has no implementation for the spec on this CPU.
Prepared build(const MatmulSpec& s) {
  const memory::data_type a_dt = to_dnnl(s.a_dtype), b_dt = to_dnnl(s.b_dtype), c_dt = to_dnnl(s.c_dtype);
  const std::int64_t m = s.m, n = s.n, k = s.k;
  memory::desc a_md, b_md, c_md;
  // When every batch multiplies the same B and A's rows are contiguous across batches, the
  // batch folds into M: one [B*M, K]·[K, N] GEMM blocks better than B small ones.
  const bool fold_batch = s.batch == 1 || (s.broadcast_b && !s.trans_a);
  if (fold_batch) {
    const std::int64_t rows = s.batch * m;
    // op(A) [B*M, K]: stored [K, M] when transposed (only reachable with B == 1).
    a_md = memory::desc({rows, k}, a_dt, s.trans_a ? memory::dims{1, rows} : memory::dims{k, 1});
    // op(B) [K, N]: stored [N, K] when transposed.
    b_md = memory::desc({k, n}, b_dt, s.trans_b ? memory::dims{1, k} : memory::dims{n, 1});
    c_md = memory::desc({rows, n}, c_dt, memory::dims{n, 1});
  } else {
    const std::int64_t b_batch = s.broadcast_b ? 1 : s.batch;
    a_md = memory::desc({s.batch, m, k}, a_dt,
                        s.trans_a ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
    b_md = memory::desc({b_batch, k, n}, b_dt,
                        s.trans_b ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
    c_md = memory::desc({s.batch, m, n}, c_dt, memory::dims{m * n, n, 1});
  }

  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (s.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::desc desc(a_md, b_md, c_md);
  const dnnl::matmul::primitive_desc pd(desc, attr, cpu_engine());
  return Prepared{dnnl::matmul(pd), a_md, b_md, c_md, pd.scratchpad_desc()};
}

bool has_bf16(const MatmulSpec& s) { return s.a_dtype == DType::bf16 || s.c_dtype == DType::bf16; }

MatmulSpec widened_to_f32(MatmulSpec s) {
  s.a_dtype = s.b_dtype = s.c_dtype = DType::f32;
  return s;
}

Prepared prepare(const MatmulSpec& s) {
  try {
    try {
      return build(s);
    } catch (const dnnl::error& e) {
      if (e.status != dnnl_unimplemented || !has_bf16(s)) throw;
    }
    Prepared widened = build(widened_to_f32(s));
    widened.widened = true;
    return widened;
  } catch (const dnnl::error& e) {
    SIEVE_CHECK(false, "matmul: oneDNN cannot build a={} b={} c={} B={} M={} N={} K={}: {}",
                core::dtype_name(s.a_dtype), core::dtype_name(s.b_dtype), core::dtype_name(s.c_dtype),
                s.batch, s.m, s.n, s.k, e.what());
  }
}

std::shared_ptr<const Prepared> cached_primitive(const CacheKey& key) {
  static std::mutex mutex;
  static std::unordered_map<CacheKey, std::shared_ptr<const Prepared>, CacheKeyHash> cache;
  {
    const std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  // Built outside the lock; if another thread raced us to the same key, keep theirs.
  auto prepared = std::make_shared<const Prepared>(prepare(key.spec));
  const std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCachedPrimitives) cache.clear();
  return cache.try_emplace(key, std::move(prepared)).first->second;
}

// A 64-byte aligned f32 buffer from the caching allocator, given back when it goes out of scope.
class F32Buffer {
 public:
  explicit F32Buffer(std::int64_t count)
      : bytes_(static_cast<std::size_t>(count) * sizeof(float)), data_(core::allocator().allocate(bytes_)) {}
  ~F32Buffer() { core::allocator().release(data_, bytes_); }
  F32Buffer(const F32Buffer&) = delete;
  F32Buffer& operator=(const F32Buffer&) = delete;
  float* data() const { return static_cast<float*>(data_); }

 private:
  std::size_t bytes_;
  void* data_;
};

void execute(const Prepared& prepared, const void* a, const void* b, void* c) {
  const dnnl::engine& engine = cpu_engine();
  memory a_mem(prepared.a_md, engine, const_cast<void*>(a));
  memory b_mem(prepared.b_md, engine, const_cast<void*>(b));
  memory c_mem(prepared.c_md, engine, c);
  memory scratch_mem(prepared.scratchpad_md, engine, thread_scratchpad(prepared.scratchpad_md.get_size()));
  dnnl::stream& stream = thread_stream();
  prepared.primitive.execute(stream, {{DNNL_ARG_SRC, a_mem},
                                      {DNNL_ARG_WEIGHTS, b_mem},
                                      {DNNL_ARG_DST, c_mem},
                                      {DNNL_ARG_SCRATCHPAD, scratch_mem}});
  stream.wait();
}

// NOTE [bf16 without a bf16 GEMM]: bf16 operands and a bf16 C go through f32 copies.
void execute_widened(const MatmulSpec& spec, const Prepared& prepared, const void* a, const void* b, void* c) {
  const std::int64_t a_count = spec.batch * spec.m * spec.k;
  const std::int64_t b_count = (spec.broadcast_b ? 1 : spec.batch) * spec.k * spec.n;
  const std::int64_t c_count = spec.batch * spec.m * spec.n;
  std::optional<F32Buffer> a32, b32, c32;
  if (spec.a_dtype == DType::bf16) {
    a32.emplace(a_count);
    b32.emplace(b_count);
    convert(DType::bf16, DType::f32, a_count, a, a32->data());
    convert(DType::bf16, DType::f32, b_count, b, b32->data());
    a = a32->data();
    b = b32->data();
  }
  void* out = c;
  if (spec.c_dtype == DType::bf16) {
    c32.emplace(c_count);
    if (spec.accumulate) convert(DType::bf16, DType::f32, c_count, c, c32->data());
    out = c32->data();
  }
  execute(prepared, a, b, out);
  if (c32) convert(DType::f32, DType::bf16, c_count, c32->data(), c);
}

}  // namespace

void matmul(const MatmulSpec& spec, const void* a, const void* b, void* c) {
  SIEVE_CHECK(spec.batch >= 0 && spec.m >= 0 && spec.n >= 0 && spec.k >= 0,
              "matmul: negative size B={} M={} N={} K={}", spec.batch, spec.m, spec.n, spec.k);
  SIEVE_CHECK(spec.a_dtype == spec.b_dtype && (spec.a_dtype == DType::f32 || spec.a_dtype == DType::bf16),
              "matmul: inputs must be both f32 or both bf16, got a={} b={}",
              core::dtype_name(spec.a_dtype), core::dtype_name(spec.b_dtype));
  SIEVE_CHECK(spec.c_dtype == DType::f32 || spec.c_dtype == DType::bf16,
              "matmul: output dtype {} is not supported (f32 or bf16 expected)", core::dtype_name(spec.c_dtype));
  if (spec.batch == 0 || spec.m == 0 || spec.n == 0) return;
  if (spec.k == 0) {
    // An empty sum: oneDNN rejects zero-sized dims, and the answer needs no GEMM.
    if (!spec.accumulate)
      std::memset(c, 0, static_cast<std::size_t>(spec.batch * spec.m * spec.n) * core::dtype_size(spec.c_dtype));
    return;
  }
  SIEVE_CHECK(a != nullptr && b != nullptr && c != nullptr, "matmul: null operand");

  // oneDNN's OpenMP runtime sizes its parallel regions from the *calling thread's* OpenMP
  // setting, which core::set_num_threads only changed on the thread that called it; align it
  // here so every caller runs on core::num_threads(). Inside a parallel region oneDNN runs on
  // the calling thread alone, so such calls get a single-thread primitive.
  int threads = 1;
  if (!omp_in_parallel()) {
    threads = core::num_threads();
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
  }
  const std::shared_ptr<const Prepared> prepared = cached_primitive(CacheKey{spec, threads});
  if (prepared->widened)
    execute_widened(spec, *prepared, a, b, c);
  else
    execute(*prepared, a, b, c);
}

bool matmul_bf16_is_native() {
  static const bool native = [] {
    MatmulSpec probe;
    probe.a_dtype = probe.b_dtype = probe.c_dtype = DType::bf16;
    probe.m = probe.n = probe.k = 16;
    return !prepare(probe).widened;
  }();
  return native;
}

}  // namespace sieve::kernels::cpu
