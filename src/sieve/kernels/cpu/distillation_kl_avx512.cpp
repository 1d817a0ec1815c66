// The AVX512 instantiation of the distillation-divergence row kernels (distillation_kl_simd.h);
// built with the AVX512 flags.
#include "sieve/kernels/cpu/simd_avx512.h"
#include "sieve/kernels/cpu/distillation_kl_simd.h"

namespace sieve::kernels::cpu::avx512 {

DistillationKlRowKernels distillation_kl_row_kernels() { return make_distillation_kl_row_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx512
