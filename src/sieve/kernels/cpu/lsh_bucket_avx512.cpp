// lsh_bucket compiled for AVX-512 (each 16-column accumulator is one zmm register, one FMA per
// head-dim element). Reached only when cpu_features() has AVX-512.
#include <algorithm>
#include <cstdint>

namespace sieve::kernels::cpu::avx512 {
#include "sieve/kernels/cpu/lsh_bucket_impl.h"

std::int32_t lsh_bucket(const float* x, const float* rotation, std::int64_t head_dim, std::int64_t buckets,
                        float* scratch) {
  return lsh_bucket_body(x, rotation, head_dim, buckets, scratch);
}

}  // namespace sieve::kernels::cpu::avx512
