// Private to attention_key_peak*.cpp: the key-peak loops, written once in plain C++ that the
// compiler vectorises, and compiled once per instruction set (the file including it sets the
// flags). No include guard on purpose, as in attention_causal_impl.h (NOTE [one copy per ISA]):
// the including file defines SIEVE_KEY_PEAK_ISA, a namespace name, and everything here lands in
// that namespace, so the linker can never hand the portable path an AVX-512 copy. For the same
// reason no std:: container or algorithm is instantiated here (their weak symbols are shared
// between files); scratch comes from operator new[].
//
// NOTE [Key-peak layout]: a work item is one (batch row, block of kKeyBlock keys). Per key head
// it packs the block transposed, Kt [D][kKeyBlock], so that for one query the scores of all the
// block's keys are kKeyBlock-long vector loops over D steps — lanes run over keys, no horizontal
// reductions — and the running max of exp(s − lse_i) per key is one more lane-wise loop.
//
// Letters: B batch, T tokens, H heads, Hkv key heads, G = H/Hkv, D head dim, L = kKeyBlock.

#include <cstdint>
#include <cstring>

#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/attention_key_peak.h"

namespace sieve::kernels::cpu::SIEVE_KEY_PEAK_ISA {

constexpr std::int64_t kKeyBlock = 64;

// exp(x) for x <= 0, vectorisable (no libm call): x = n·ln2 + r with |r| <= ln2/2, e^r by its
// degree-6 Taylor polynomial (relative error < 2e-7), 2^n built in the exponent bits. x is
// clamped to [−87, 0] so 2^n stays a normal float: below −87 the result is ~1e-38, not 0, which
// no target built from a peak can notice; above 0 (rounding makes s − lse a hair positive at most) it is 1.
inline float exp_nonpositive(float x) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 · 2^23: adding it rounds to an integer in the low bits
  x = x < -87.0f ? -87.0f : x;
  x = x > 0.0f ? 0.0f : x;
  const float t = x * kLog2e + kRound;
  const float n = t - kRound;
  std::int32_t t_bits, round_bits;
  std::memcpy(&t_bits, &t, sizeof t_bits);
  std::memcpy(&round_bits, &kRound, sizeof round_bits);
  const std::int32_t exponent = (t_bits - round_bits + 127) << 23;  // n in [−126, 0]
  float two_n;
  std::memcpy(&two_n, &exponent, sizeof two_n);
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  const float p =
      1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  return p * two_n;
}

struct Scratch {
  explicit Scratch(std::int64_t floats) : data(new float[static_cast<std::size_t>(floats)]) {}
  ~Scratch() { delete[] data; }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* data;
};

// Keys [j0, j0 + nk) of batch row b: their peaks, written to peak_out[0, nk).
inline void key_block_peak(const KeyPeakShape& s, const float* q, const float* k, const float* lse, std::int64_t b,
                           std::int64_t j0, std::int64_t nk, float* kt, float* peak_out) {
  constexpr std::int64_t L = kKeyBlock;
  const std::int64_t T = s.tokens, H = s.heads, Hkv = s.kv_heads, D = s.head_dim, G = H / Hkv;
  float scores[L], top[L];
  for (std::int64_t j = 0; j < L; ++j) top[j] = 0.0f;
  const std::int64_t first_query = j0 + s.min_distance;  // the earliest query any key of the block counts
  for (std::int64_t g = 0; g < Hkv; ++g) {
    // Kt [D][L]; lanes past nk stay 0 and are masked out below.
    for (std::int64_t i = 0; i < D * L; ++i) kt[i] = 0.0f;
    for (std::int64_t j = 0; j < nk; ++j) {
      const float* row = k + ((b * T + j0 + j) * Hkv + g) * D;  // [D]
      for (std::int64_t d = 0; d < D; ++d) kt[d * L + j] = row[d];
    }
    for (std::int64_t h = g * G; h < (g + 1) * G; ++h) {
      const float* row_lse = lse + (b * H + h) * T;  // [T]
      for (std::int64_t i = first_query; i < T; ++i) {
        const float* qi = q + ((b * T + i) * H + h) * D;  // [D]
        for (std::int64_t j = 0; j < L; ++j) scores[j] = 0.0f;
        for (std::int64_t d = 0; d < D; ++d) {
          const float qd = qi[d] * s.scale;
          const float* __restrict kd = kt + d * L;
          for (std::int64_t j = 0; j < L; ++j) scores[j] += qd * kd[j];
        }
        const float shift = row_lse[i];
        // Key j0 + j counts for query i when j0 + j <= i − min_distance.
        const std::int64_t visible = i - s.min_distance - j0 + 1;
        if (visible >= nk && nk == L) {
          for (std::int64_t j = 0; j < L; ++j) {
            const float p = exp_nonpositive(scores[j] - shift);
            top[j] = top[j] > p ? top[j] : p;
          }
        } else {
          for (std::int64_t j = 0; j < L; ++j) {
            const float p = (j < visible && j < nk) ? exp_nonpositive(scores[j] - shift) : 0.0f;
            top[j] = top[j] > p ? top[j] : p;
          }
        }
      }
    }
  }
  for (std::int64_t j = 0; j < nk; ++j) peak_out[j] = top[j];
}

void key_peak_f32(const KeyPeakShape& s, const float* q, const float* k, const float* lse, float* peak) {
  const std::int64_t blocks = (s.tokens + kKeyBlock - 1) / kKeyBlock;
  // Early key blocks are read by many more queries than late ones. Work items run in the order
  // 0, last, 1, last − 1, ... within each batch row, so the contiguous share parallel_for gives
  // each thread holds heavy and light blocks alike.
  core::parallel_for(s.batch * blocks, 1, [&](std::int64_t begin, std::int64_t end) {
    Scratch kt(s.head_dim * kKeyBlock);
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t b = item / blocks, w = item % blocks;
      const std::int64_t block = w % 2 == 0 ? w / 2 : blocks - 1 - w / 2;
      const std::int64_t j0 = block * kKeyBlock;
      const std::int64_t nk = s.tokens - j0 < kKeyBlock ? s.tokens - j0 : kKeyBlock;
      key_block_peak(s, q, k, lse, b, j0, nk, kt.data, peak + b * s.tokens + j0);
    }
  });
}

}  // namespace sieve::kernels::cpu::SIEVE_KEY_PEAK_ISA
