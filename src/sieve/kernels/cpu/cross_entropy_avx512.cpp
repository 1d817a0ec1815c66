// The AVX512 instantiation of the cross-entropy row kernels (cross_entropy_simd.h); built with
// the AVX512 flags.
#include "sieve/kernels/cpu/simd_avx512.h"
#include "sieve/kernels/cpu/cross_entropy_simd.h"

namespace sieve::kernels::cpu::avx512 {

CrossEntropyRowKernels cross_entropy_row_kernels() { return make_cross_entropy_row_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx512
