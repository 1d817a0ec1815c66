// The AVX512 instantiation of the SiLU / SwiGLU kernels (activation_simd.h); built with the
// AVX512 flags.
#include "sieve/kernels/cpu/simd_avx512.h"
#include "sieve/kernels/cpu/activation_simd.h"

namespace sieve::kernels::cpu::avx512 {

ActivationKernels activation_kernels() { return make_activation_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx512
