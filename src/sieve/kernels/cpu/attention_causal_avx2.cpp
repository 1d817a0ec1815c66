// Fused causal attention, AVX2 instantiation: 8 f32 lanes, blocks of 16 queries (or keys),
// 6 x 2 register tiles (12 accumulators of 16 ymm). Built with -mavx2 -mfma; called when
// core::cpu_features().has_avx2() but not AVX-512 (or SIEVE_ISA=avx2).
#include <immintrin.h>

#include <cstdint>

namespace sieve::kernels::cpu::attention_avx2 {

#include "sieve/kernels/cpu/attention_vec_avx2.h"

}  // namespace sieve::kernels::cpu::attention_avx2

#define SIEVE_ATTENTION_ISA attention_avx2
#include "sieve/kernels/cpu/attention_causal_impl.h"
#undef SIEVE_ATTENTION_ISA
