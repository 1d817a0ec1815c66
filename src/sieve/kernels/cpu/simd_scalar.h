// Scalar flavour of the Simd traits (one value per "vector") that the row-kernel templates in
// *_simd.h are written against; it is the fallback when the CPU has neither AVX-512 nor AVX2
// (or SIEVE_ISA=scalar). Include only from the plain (baseline-ISA) kernel files.
// Values are carried in double between load and store: with one lane, the templates' four
// accumulators would otherwise be four long f32 summation chains, and scalar double costs the
// same as scalar float.
#pragma once

#include <cmath>
#include <cstdint>

namespace sieve::kernels::cpu::scalar {

struct Simd {
  using F = double;
  static constexpr std::int64_t kWidth = 1;

  static F zero() { return 0.0; }
  static F set1(float v) { return v; }
  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = static_cast<float>(v); }
  // With one lane a partial vector is empty; kept so the templates compile unchanged.
  static F load_partial(const float* p, std::int64_t n, float fill) { return n > 0 ? *p : fill; }
  static void store_partial(float* p, F v, std::int64_t n) {
    if (n > 0) *p = static_cast<float>(v);
  }

  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F max(F a, F b) { return a > b ? a : b; }
  static F fmadd(F a, F b, F c) { return a * b + c; }   // a * b + c
  static F fnmadd(F a, F b, F c) { return c - a * b; }  // c - a * b
  static float reduce_add(F v) { return static_cast<float>(v); }
  static float reduce_max(F v) { return static_cast<float>(v); }

  static F exp(F x) { return std::exp(x); }
  static float sqrt(float v) { return std::sqrt(v); }
  static float log(float v) { return std::log(v); }
};

}  // namespace sieve::kernels::cpu::scalar
