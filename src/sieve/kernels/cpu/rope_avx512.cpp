// The AVX512 instantiation of the RoPE row kernel (rope_simd.h); built with the AVX512 flags.
#include "sieve/kernels/cpu/simd_avx512.h"
#include "sieve/kernels/cpu/rope_simd.h"

namespace sieve::kernels::cpu::avx512 {

RopeRowsF32 rope_rows_kernel() { return &rope_rows<Simd>; }

}  // namespace sieve::kernels::cpu::avx512
