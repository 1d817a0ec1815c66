// The AVX2 instantiation of the norm row kernels (norm_simd.h); built with the AVX2 flags.
#include "sieve/kernels/cpu/simd_avx2.h"
#include "sieve/kernels/cpu/norm_simd.h"

namespace sieve::kernels::cpu::avx2 {

NormRowKernels norm_row_kernels() { return make_norm_row_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx2
