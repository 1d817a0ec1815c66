// lsh_bucket (declared in sparse_decode_index.h): the portable build and the run-time choice of
// the AVX-512 or AVX2 one (lsh_bucket_avx512.cpp, lsh_bucket_avx2.cpp). The choice is made once
// per process, so every caller gets the same buckets.
#include <algorithm>
#include <cstdint>

#include "sieve/kernels/cpu/sparse_decode_index.h"

namespace sieve::kernels::cpu {

namespace avx512 {
std::int32_t lsh_bucket(const float* x, const float* rotation, std::int64_t head_dim, std::int64_t buckets,
                        float* scratch);
}  // namespace avx512

namespace avx2 {
std::int32_t lsh_bucket(const float* x, const float* rotation, std::int64_t head_dim, std::int64_t buckets,
                        float* scratch);
}  // namespace avx2

namespace portable {
#include "sieve/kernels/cpu/lsh_bucket_impl.h"
}  // namespace portable

std::int32_t lsh_bucket(const float* x, const float* rotation, std::int64_t head_dim, std::int64_t buckets,
                        float* scratch) {
  static const AttentionIsa isa = attention_causal_default_isa();
  switch (isa) {
    case AttentionIsa::avx512: return avx512::lsh_bucket(x, rotation, head_dim, buckets, scratch);
    case AttentionIsa::avx2: return avx2::lsh_bucket(x, rotation, head_dim, buckets, scratch);
    case AttentionIsa::portable: break;
  }
  return portable::lsh_bucket_body(x, rotation, head_dim, buckets, scratch);
}

}  // namespace sieve::kernels::cpu
