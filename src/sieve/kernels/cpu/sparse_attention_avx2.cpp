// Dynamic sparse attention, AVX2 instantiation: 8 f32 lanes, tasks of 16 query lanes, the
// dense kernel's 6 x 2 register tiles. Built with -mavx2 -mfma; called when
// core::cpu_features().has_avx2() but not AVX-512 (or SIEVE_ISA=avx2). The Vec traits are
// the dense kernel's (attention_vec_avx2.h), included in this file's own namespace (NOTE [one
// copy per ISA] in attention_causal_impl.h).
#include <immintrin.h>

#include <cstdint>

#include "sieve/kernels/cpu/sparse_attention.h"

namespace sieve::kernels::cpu::sparse_avx2 {

#include "sieve/kernels/cpu/attention_vec_avx2.h"

}  // namespace sieve::kernels::cpu::sparse_avx2

#define SIEVE_ATTENTION_ISA sparse_avx2
#include "sieve/kernels/cpu/attention_causal_blocks.h"
#include "sieve/kernels/cpu/sparse_attention_impl.h"
#undef SIEVE_ATTENTION_ISA
