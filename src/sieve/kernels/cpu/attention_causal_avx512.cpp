// Fused causal attention, AVX-512 instantiation: 16 f32 lanes, blocks of 64 queries (or keys),
// 6 x 4 register tiles (24 accumulators of 32 zmm). Built with -mavx512f/bw/vl/dq; called
// only when core::cpu_features().has_avx512().
//
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm*_undefined_*()
// helpers once inlined (GCC bug 105593). The pragma is location-based, so scoping it to the
// header's lines silences that without hiding warnings in this file's code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

namespace sieve::kernels::cpu::attention_avx512 {

#include "sieve/kernels/cpu/attention_vec_avx512.h"

}  // namespace sieve::kernels::cpu::attention_avx512

#define SIEVE_ATTENTION_ISA attention_avx512
#include "sieve/kernels/cpu/attention_causal_impl.h"
#undef SIEVE_ATTENTION_ISA
