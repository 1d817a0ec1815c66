// The vector loops of sparse decoding (sparse_attention_decode_impl.h) for AVX2 + FMA, 8 lanes.
// Built with -mavx2 -mfma; chosen when core::cpu_features().has_avx2() but not AVX-512 (or
// SIEVE_ISA=avx2).
#include <immintrin.h>

#include <cstdint>

#include "sieve/kernels/cpu/sparse_attention_decode_kernels.h"

namespace sieve::kernels::cpu::decode_avx2 {

#include "sieve/kernels/cpu/attention_vec_avx2.h"

}  // namespace sieve::kernels::cpu::decode_avx2

#define SIEVE_DECODE_ISA decode_avx2
#include "sieve/kernels/cpu/sparse_attention_decode_impl.h"
#undef SIEVE_DECODE_ISA
