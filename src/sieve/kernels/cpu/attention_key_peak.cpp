// Key peak: argument checks, run-time ISA dispatch, and the portable (baseline SSE2) build of
// attention_key_peak_impl.h. Letters as in attention_key_peak.h.
#include "sieve/kernels/cpu/attention_key_peak.h"

#include <cmath>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"

#define SIEVE_KEY_PEAK_ISA key_peak_portable
#include "sieve/kernels/cpu/attention_key_peak_impl.h"
#undef SIEVE_KEY_PEAK_ISA

namespace sieve::kernels::cpu {

// Defined in attention_key_peak_avx512.cpp / attention_key_peak_avx2.cpp (via the impl header).
namespace key_peak_avx512 {
void key_peak_f32(const KeyPeakShape& s, const float* q, const float* k, const float* lse, float* peak);
}
namespace key_peak_avx2 {
void key_peak_f32(const KeyPeakShape& s, const float* q, const float* k, const float* lse, float* peak);
}

void attention_key_peak_isa(AttentionIsa isa, const KeyPeakShape& s, const float* q, const float* k,
                            const float* lse, float* peak) {
  SIEVE_CHECK(s.batch >= 0 && s.tokens >= 0, "attention_key_peak: negative size (batch {}, tokens {})", s.batch,
              s.tokens);
  SIEVE_CHECK(s.heads > 0 && s.kv_heads > 0 && s.heads % s.kv_heads == 0,
              "attention_key_peak: heads {} must be a positive multiple of kv_heads {}", s.heads, s.kv_heads);
  SIEVE_CHECK(s.head_dim > 0, "attention_key_peak: head_dim {} must be positive", s.head_dim);
  SIEVE_CHECK(s.min_distance >= 0, "attention_key_peak: min_distance {} must be >= 0", s.min_distance);
  SIEVE_CHECK(std::isfinite(s.scale), "attention_key_peak: scale {} must be finite", s.scale);
  const core::CpuFeatures& f = core::cpu_features();
  SIEVE_CHECK(isa == AttentionIsa::portable || (isa == AttentionIsa::avx2 && f.has_avx2()) ||
                  (isa == AttentionIsa::avx512 && f.has_avx512()),
              "attention_key_peak: the requested instruction set is not available on this CPU ({})", f.describe());
  if (s.batch == 0 || s.tokens == 0) return;
  SIEVE_CHECK(q && k && lse && peak, "attention_key_peak: null q, k, lse or peak");
  switch (isa) {
    case AttentionIsa::avx512: key_peak_avx512::key_peak_f32(s, q, k, lse, peak); break;
    case AttentionIsa::avx2: key_peak_avx2::key_peak_f32(s, q, k, lse, peak); break;
    case AttentionIsa::portable: key_peak_portable::key_peak_f32(s, q, k, lse, peak); break;
  }
}

void attention_key_peak(const KeyPeakShape& shape, const float* q, const float* k, const float* lse, float* peak) {
  attention_key_peak_isa(attention_causal_default_isa(), shape, q, k, lse, peak);
}

}  // namespace sieve::kernels::cpu
