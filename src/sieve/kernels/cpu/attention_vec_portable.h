// The vector traits the attention kernels (attention_causal_impl.h, sparse_attention_impl.h)
// are written against, for plain C++ (8 lanes, for CPUs without AVX2 and SIEVE_ISA=scalar).
// NOTE [one copy per ISA] (attention_causal_impl.h): include this only inside the namespace of
// the file's own instantiation, so every kernel gets its own copy compiled with its own flags.
// The includer provides the intrinsics header, <algorithm>, <cmath> and <cstdint>.
#pragma once

struct Vec {
  struct Reg {
    float x[8];
  };
  static constexpr int kWidth = 8;
  static constexpr int kTileRows = 4;
  static constexpr int kBlockVectors = 2;

  static Reg zero() { return set1(0.0f); }
  static Reg set1(float value) {
    Reg r;
    for (float& x : r.x) x = value;
    return r;
  }
  static Reg load(const float* p) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = p[i];
    return r;
  }
  static void store(float* p, const Reg& a) {
    for (int i = 0; i < kWidth; ++i) p[i] = a.x[i];
  }
  static Reg add(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = a.x[i] + b.x[i];
    return r;
  }
  static Reg sub(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = a.x[i] - b.x[i];
    return r;
  }
  static Reg mul(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = a.x[i] * b.x[i];
    return r;
  }
  static Reg max(const Reg& a, const Reg& b) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = a.x[i] > b.x[i] ? a.x[i] : b.x[i];
    return r;
  }
  static Reg fmadd(const Reg& a, const Reg& b, const Reg& c) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = a.x[i] * b.x[i] + c.x[i];
    return r;
  }
  // The sum of the lanes.
  static float reduce_add(const Reg& a) {
    float s = 0.0f;
    for (int i = 0; i < kWidth; ++i) s += a.x[i];
    return s;
  }
  static Reg exp2(const Reg& a) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = std::exp2(std::clamp(a.x[i], -126.0f, 126.0f));
    return r;
  }
  // The first n lanes of p (the rest read as 0) / written to p.
  static Reg load_first(const float* p, int n) {
    Reg r = zero();
    for (int i = 0; i < n; ++i) r.x[i] = p[i];
    return r;
  }
  static void store_first(float* p, const Reg& a, int n) {
    for (int i = 0; i < n; ++i) p[i] = a.x[i];
  }
  static Reg fill_below(const Reg& a, std::int64_t n, const Reg& fill) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = i < n ? fill.x[i] : a.x[i];
    return r;
  }
  static Reg fill_above(const Reg& a, std::int64_t n, const Reg& fill) {
    Reg r;
    for (int i = 0; i < kWidth; ++i) r.x[i] = i > n ? fill.x[i] : a.x[i];
    return r;
  }
};
