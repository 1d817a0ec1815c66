// lsh_bucket compiled for AVX2 + FMA (each 16-column accumulator is two ymm registers, one FMA
// each per head-dim element). Reached when cpu_features() has AVX2 but not AVX-512.
#include <algorithm>
#include <cstdint>

namespace sieve::kernels::cpu::avx2 {
#include "sieve/kernels/cpu/lsh_bucket_impl.h"

std::int32_t lsh_bucket(const float* x, const float* rotation, std::int64_t head_dim, std::int64_t buckets,
                        float* scratch) {
  return lsh_bucket_body(x, rotation, head_dim, buckets, scratch);
}

}  // namespace sieve::kernels::cpu::avx2
