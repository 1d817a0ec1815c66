// The AVX512 instantiation of the softmax row kernels (softmax_simd.h); built with the AVX512
// flags.
#include "sieve/kernels/cpu/simd_avx512.h"
#include "sieve/kernels/cpu/softmax_simd.h"

namespace sieve::kernels::cpu::avx512 {

SoftmaxRowKernels softmax_row_kernels() { return make_softmax_row_kernels<Simd>(); }

}  // namespace sieve::kernels::cpu::avx512
