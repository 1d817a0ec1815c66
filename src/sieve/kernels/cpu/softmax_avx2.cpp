// The AVX2 instantiation of the softmax row kernels (softmax_simd.h); built with the AVX2
// flags.
#include "sieve/kernels/cpu/simd_avx2.h"
#include "sieve/kernels/cpu/softmax_simd.h"

namespace sieve::kernels::cpu::avx2 {

SoftmaxRowKernels softmax_row_kernels() { return make_softmax_row_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx2
