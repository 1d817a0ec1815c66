// Private to sparse_attention_decode*.cpp: the vector loops of a decoding step
// (sparse_attention_decode_kernels.h), written once over the vector-traits struct `Vec` of
// attention_vec_*.h and compiled once per instruction set.
//
// No include guard on purpose (NOTE [one copy per ISA] in attention_causal_impl.h): an ISA file
// defines SIEVE_DECODE_ISA (its own namespace, e.g. decode_avx2) and a struct Vec in it, includes
// sparse_attention_decode_kernels.h, then this file. So: no std:: template on a type from
// outside this namespace (the linker could keep another ISA's copy), prefetch through builtins.
//
// Rows are prefetched a few keys ahead of their use (NOTE [Decode memory order] in
// sparse_attention_decode.cpp): whole [Hkv, D] key rows in the logit pass, one head's D values
// in the weighted sum.
//
// Letters as in sparse_attention.h.

namespace sieve::kernels::cpu::SIEVE_DECODE_ISA {
namespace {

constexpr std::int64_t kScoreAhead = 4;   // key rows (all heads) prefetched ahead
constexpr std::int64_t kValueAhead = 8;   // value rows (one head's D) prefetched ahead
constexpr std::int64_t kLineFloats = 16;  // one 64-byte cache line
constexpr float kLog2e = 1.44269504088896340736f;

// n floats from p, one prefetch per cache line (the last one included).
inline void prefetch_span(const float* p, std::int64_t n) {
  for (std::int64_t i = 0; i < n; i += kLineFloats) __builtin_prefetch(p + i);
  __builtin_prefetch(p + n - 1);
}

// Lanes [0, n) of p, the rest 0; n <= kWidth.
inline Vec::Reg load_lanes(const float* p, std::int64_t n) {
  return n == Vec::kWidth ? Vec::load(p) : Vec::load_first(p, static_cast<int>(n));
}

// a · b over n floats.
inline float dot(const float* a, const float* b, std::int64_t n) {
  Vec::Reg acc0 = Vec::zero(), acc1 = Vec::zero();
  std::int64_t d = 0;
  for (; d + 2 * Vec::kWidth <= n; d += 2 * Vec::kWidth) {
    acc0 = Vec::fmadd(Vec::load(a + d), Vec::load(b + d), acc0);
    acc1 = Vec::fmadd(Vec::load(a + d + Vec::kWidth), Vec::load(b + d + Vec::kWidth), acc1);
  }
  for (; d < n; d += Vec::kWidth) {
    const std::int64_t lanes = n - d < Vec::kWidth ? n - d : Vec::kWidth;
    acc0 = Vec::fmadd(load_lanes(a + d, lanes), load_lanes(b + d, lanes), acc0);
  }
  return Vec::reduce_add(Vec::add(acc0, acc1));
}

void scores(const DecodeScores& s) {
  const std::int64_t D = s.head_dim;
  const std::int64_t span = ((s.heads - 1) / s.group + 1) * D;  // the kv heads' part of a row
  for (std::int64_t c = 0; c < s.count && c < kScoreAhead; ++c) prefetch_span(s.keys + s.positions[c] * s.row, span);
  for (std::int64_t c = 0; c < s.count; ++c) {
    if (c + kScoreAhead < s.count) prefetch_span(s.keys + s.positions[c + kScoreAhead] * s.row, span);
    const float* k = s.keys + s.positions[c] * s.row;
    const float bias = s.bias != nullptr ? s.bias[c] : 0.0f;
    for (std::int64_t h = 0; h < s.heads; ++h)
      s.logits[h * s.logit_stride + c] = s.scale * dot(s.q + h * D, k + (h / s.group) * D, D) + bias;
  }
}

float max(const float* x, std::int64_t n, float init) {
  Vec::Reg m = Vec::set1(init);
  std::int64_t i = 0;
  for (; i + Vec::kWidth <= n; i += Vec::kWidth) m = Vec::max(m, Vec::load(x + i));
  float lanes[Vec::kWidth];
  Vec::store(lanes, m);
  float best = init;
  for (const float lane : lanes) best = lane > best ? lane : best;
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  return best;
}

float exp_sum(float* x, std::int64_t n, float m) {
  const Vec::Reg shift = Vec::set1(m), log2e = Vec::set1(kLog2e);
  Vec::Reg sum = Vec::zero();
  for (std::int64_t i = 0; i < n; i += Vec::kWidth) {
    const std::int64_t lanes = n - i < Vec::kWidth ? n - i : Vec::kWidth;
    Vec::Reg e = Vec::exp2(Vec::mul(Vec::sub(load_lanes(x + i, lanes), shift), log2e));
    if (lanes == Vec::kWidth) {
      Vec::store(x + i, e);
    } else {
      e = Vec::fill_above(e, lanes - 1, Vec::zero());  // the padding lanes add nothing
      Vec::store_first(x + i, e, static_cast<int>(lanes));
    }
    sum = Vec::add(sum, e);
  }
  return Vec::reduce_add(sum);
}

void accumulate(const float* p, const std::int32_t* positions, std::int64_t n, const float* values, std::int64_t row,
                std::int64_t D, float* out) {
  for (std::int64_t c = 0; c < n && c < kValueAhead; ++c) prefetch_span(values + positions[c] * row, D);
  for (std::int64_t c = 0; c < n; ++c) {
    if (c + kValueAhead < n) prefetch_span(values + positions[c + kValueAhead] * row, D);
    const float* v = values + positions[c] * row;
    const Vec::Reg pc = Vec::set1(p[c]);
    for (std::int64_t d = 0; d < D; d += Vec::kWidth) {
      const std::int64_t lanes = D - d < Vec::kWidth ? D - d : Vec::kWidth;
      const Vec::Reg sum = Vec::fmadd(pc, load_lanes(v + d, lanes), load_lanes(out + d, lanes));
      if (lanes == Vec::kWidth)
        Vec::store(out + d, sum);
      else
        Vec::store_first(out + d, sum, static_cast<int>(lanes));
    }
  }
}

}  // namespace

DecodeKernels decode_kernels() { return {&scores, &max, &exp_sum, &accumulate}; }

}  // namespace sieve::kernels::cpu::SIEVE_DECODE_ISA
