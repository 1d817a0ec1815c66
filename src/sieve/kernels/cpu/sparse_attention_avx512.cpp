// Dynamic sparse attention, AVX-512 instantiation: 16 f32 lanes, tasks of 64 query lanes,
// the dense kernel's 6 x 4 register tiles. Built with -mavx512f/bw/vl/dq; called only when
// core::cpu_features().has_avx512(). The Vec traits are the dense kernel's
// (attention_vec_avx512.h), included in this file's own namespace (NOTE [one copy per ISA] in
// attention_causal_impl.h).
//
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm*_undefined_*()
// helpers once inlined (GCC bug 105593); the pragma is scoped to the header's lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "sieve/kernels/cpu/sparse_attention.h"

namespace sieve::kernels::cpu::sparse_avx512 {

#include "sieve/kernels/cpu/attention_vec_avx512.h"

}  // namespace sieve::kernels::cpu::sparse_avx512

#define SIEVE_ATTENTION_ISA sparse_avx512
#include "sieve/kernels/cpu/attention_causal_blocks.h"
#include "sieve/kernels/cpu/sparse_attention_impl.h"
#undef SIEVE_ATTENTION_ISA
