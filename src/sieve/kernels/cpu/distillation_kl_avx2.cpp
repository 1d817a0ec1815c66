// The AVX2 instantiation of the distillation-divergence row kernels (distillation_kl_simd.h);
// built with the AVX2 flags.
#include "sieve/kernels/cpu/simd_avx2.h"
#include "sieve/kernels/cpu/distillation_kl_simd.h"

namespace sieve::kernels::cpu::avx2 {

DistillationKlRowKernels distillation_kl_row_kernels() { return make_distillation_kl_row_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx2
