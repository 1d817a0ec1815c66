// The vector loops of sparse decoding (sparse_attention_decode_impl.h) for AVX-512, 16 lanes.
// Built with -mavx512f/bw/vl/dq; chosen only when core::cpu_features().has_avx512().
//
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm*_undefined_*()
// helpers once inlined (GCC bug 105593); the pragma is scoped to the header's lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "sieve/kernels/cpu/sparse_attention_decode_kernels.h"

namespace sieve::kernels::cpu::decode_avx512 {

#include "sieve/kernels/cpu/attention_vec_avx512.h"

}  // namespace sieve::kernels::cpu::decode_avx512

#define SIEVE_DECODE_ISA decode_avx512
#include "sieve/kernels/cpu/sparse_attention_decode_impl.h"
#undef SIEVE_DECODE_ISA
