// The AVX2 instantiation of the RoPE row kernel (rope_simd.h); built with the AVX2 flags.
#include "sieve/kernels/cpu/simd_avx2.h"
#include "sieve/kernels/cpu/rope_simd.h"

namespace sieve::kernels::cpu::avx2 {

RopeRowsF32 rope_rows_kernel() { return &rope_rows<Simd>; }

}  // namespace sieve::kernels::cpu::avx2
