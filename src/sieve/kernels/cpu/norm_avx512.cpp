// The AVX512 instantiation of the norm row kernels (norm_simd.h); built with the AVX512 flags.
#include "sieve/kernels/cpu/simd_avx512.h"
#include "sieve/kernels/cpu/norm_simd.h"

namespace sieve::kernels::cpu::avx512 {

NormRowKernels norm_row_kernels() { return make_norm_row_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx512
