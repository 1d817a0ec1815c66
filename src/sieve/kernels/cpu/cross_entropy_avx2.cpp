// The AVX2 instantiation of the cross-entropy row kernels (cross_entropy_simd.h); built with
// the AVX2 flags.
#include "sieve/kernels/cpu/simd_avx2.h"
#include "sieve/kernels/cpu/cross_entropy_simd.h"

namespace sieve::kernels::cpu::avx2 {

CrossEntropyRowKernels cross_entropy_row_kernels() { return make_cross_entropy_row_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx2
