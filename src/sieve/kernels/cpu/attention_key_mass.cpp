// Key mass: argument checks, run-time ISA dispatch, and the portable (baseline SSE2) build of
// attention_key_mass_impl.h. Letters as in attention_key_mass.h.
#include "sieve/kernels/cpu/attention_key_mass.h"

#include <cmath>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"

#define SIEVE_KEY_MASS_ISA key_mass_portable
#include "sieve/kernels/cpu/attention_key_mass_impl.h"
#undef SIEVE_KEY_MASS_ISA

namespace sieve::kernels::cpu {

// Defined in attention_key_mass_avx512.cpp / attention_key_mass_avx2.cpp (via the impl header).
namespace key_mass_avx512 {
void key_mass_f32(const KeyMassShape& s, const float* q, const float* k, const float* lse, float* mass);
}
namespace key_mass_avx2 {
void key_mass_f32(const KeyMassShape& s, const float* q, const float* k, const float* lse, float* mass);
}

void attention_key_mass_isa(AttentionIsa isa, const KeyMassShape& s, const float* q, const float* k,
                            const float* lse, float* mass) {
  SIEVE_CHECK(s.batch >= 0 && s.tokens >= 0, "attention_key_mass: negative size (batch {}, tokens {})", s.batch,
              s.tokens);
  SIEVE_CHECK(s.heads > 0 && s.kv_heads > 0 && s.heads % s.kv_heads == 0,
              "attention_key_mass: heads {} must be a positive multiple of kv_heads {}", s.heads, s.kv_heads);
  SIEVE_CHECK(s.head_dim > 0, "attention_key_mass: head_dim {} must be positive", s.head_dim);
  SIEVE_CHECK(s.min_distance >= 0, "attention_key_mass: min_distance {} must be >= 0", s.min_distance);
  SIEVE_CHECK(std::isfinite(s.scale), "attention_key_mass: scale {} must be finite", s.scale);
  const core::CpuFeatures& f = core::cpu_features();
  SIEVE_CHECK(isa == AttentionIsa::portable || (isa == AttentionIsa::avx2 && f.has_avx2()) ||
                  (isa == AttentionIsa::avx512 && f.has_avx512()),
              "attention_key_mass: the requested instruction set is not available on this CPU ({})", f.describe());
  if (s.batch == 0 || s.tokens == 0) return;
  SIEVE_CHECK(q && k && lse && mass, "attention_key_mass: null q, k, lse or mass");
  switch (isa) {
    case AttentionIsa::avx512: key_mass_avx512::key_mass_f32(s, q, k, lse, mass); break;
    case AttentionIsa::avx2: key_mass_avx2::key_mass_f32(s, q, k, lse, mass); break;
    case AttentionIsa::portable: key_mass_portable::key_mass_f32(s, q, k, lse, mass); break;
  }
}

void attention_key_mass(const KeyMassShape& shape, const float* q, const float* k, const float* lse, float* mass) {
  attention_key_mass_isa(attention_causal_default_isa(), shape, q, k, lse, mass);
}

}  // namespace sieve::kernels::cpu
