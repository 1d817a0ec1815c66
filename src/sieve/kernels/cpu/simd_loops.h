// Loop helpers for the row-kernel templates (*_simd.h), written once against a Simd traits type
// (simd_scalar.h, simd_avx2.h, simd_avx512.h). Everything here is a template on that type, so
// each ISA's instantiation has its own symbol and the linker cannot merge an AVX-512 copy into
// the AVX2 or baseline path; for the same reason nothing here calls an inline std:: function.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// Loads n <= kWidth floats; lanes past n read as `fill` (0 for sums, -inf for a max).
template <class S>
inline typename S::F load_n(const float* p, std::int64_t n, float fill = 0.0f) {
  if (n == S::kWidth) return S::load(p);
  return S::load_partial(p, n, fill);
}

template <class S>
inline void store_n(float* p, typename S::F v, std::int64_t n) {
  if (n == S::kWidth) {
    S::store(p, v);
  } else {
    S::store_partial(p, v, n);
  }
}

// Calls body(i, len) for consecutive vectors covering [0, n): len == kWidth except for a last,
// shorter tail. Inlined, `len` is a constant in the main loop and the tail test folds away.
template <class S, class Body>
inline void for_each_vector(std::int64_t n, Body&& body) {
  std::int64_t i = 0;
  for (; i + S::kWidth <= n; i += S::kWidth) body(i, S::kWidth);
  if (i < n) body(i, n - i);
}

// Folds step(acc, i, len) over the vectors of [0, n) into four independent accumulators (to hide
// FMA latency and to shorten the summation chains), then merges them with combine(a, b).
template <class S, class Step, class Combine>
inline typename S::F fold_vectors(std::int64_t n, typename S::F init, Step&& step, Combine&& combine) {
  constexpr std::int64_t W = S::kWidth;
  typename S::F a0 = init, a1 = init, a2 = init, a3 = init;
  std::int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    a0 = step(a0, i, W);
    a1 = step(a1, i + W, W);
    a2 = step(a2, i + 2 * W, W);
    a3 = step(a3, i + 3 * W, W);
  }
  for (; i + W <= n; i += W) a0 = step(a0, i, W);
  if (i < n) a1 = step(a1, i, n - i);
  return combine(combine(a0, a1), combine(a2, a3));
}

template <class S>
inline float row_sum(const float* x, std::int64_t n) {
  using F = typename S::F;
  const F acc = fold_vectors<S>(
      n, S::zero(), [&](F a, std::int64_t i, std::int64_t len) { return S::add(a, load_n<S>(x + i, len)); },
      [](F a, F b) { return S::add(a, b); });
  return S::reduce_add(acc);
}

template <class S>
inline float row_dot(const float* a, const float* b, std::int64_t n) {
  using F = typename S::F;
  const F acc = fold_vectors<S>(
      n, S::zero(),
      [&](F s, std::int64_t i, std::int64_t len) { return S::fmadd(load_n<S>(a + i, len), load_n<S>(b + i, len), s); },
      [](F u, F v) { return S::add(u, v); });
  return S::reduce_add(acc);
}

// max_i x[i]; n >= 1.
template <class S>
inline float row_max(const float* x, std::int64_t n) {
  using F = typename S::F;
  const float lowest = -__builtin_inff();
  const F acc = fold_vectors<S>(
      n, S::set1(lowest),
      [&](F m, std::int64_t i, std::int64_t len) { return S::max(m, load_n<S>(x + i, len, lowest)); },
      [](F a, F b) { return S::max(a, b); });
  return S::reduce_max(acc);
}

// Asks for the 64-byte line holding next + i to be brought into L2, once per line as i steps
// through a row. Row kernels whose second pass is compute-bound (exp) use it to fetch the next
// row meanwhile, so the next row's first, memory-bound pass finds it in cache. A no-op when
// next is null; a prefetch never faults, even past the end of a buffer. (A template only so that
// each ISA keeps its own copy, like everything in this file.)
template <class S>
inline void prefetch_line(const float* next, std::int64_t i) {
  if (next != nullptr && (i & 15) == 0) __builtin_prefetch(next + i, 0, 2);
}

// sum_i exp(x[i] - shift); prefetches next[0, n) (may be null) on the way.
template <class S>
inline float row_sum_exp(const float* x, std::int64_t n, float shift, const float* next = nullptr) {
  using F = typename S::F;
  const F s = S::set1(shift);
  const F acc = fold_vectors<S>(
      n, S::zero(),
      [&](F a, std::int64_t i, std::int64_t len) {
        prefetch_line<S>(next, i);
        // Tail lanes load -inf so they contribute exp(-inf) = 0.
        return S::add(a, S::exp(S::sub(load_n<S>(x + i, len, -__builtin_inff()), s)));
      },
      [](F a, F b) { return S::add(a, b); });
  return S::reduce_add(acc);
}

}  // namespace sieve::kernels::cpu
