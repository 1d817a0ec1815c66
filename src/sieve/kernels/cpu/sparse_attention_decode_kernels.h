// Private to sparse_attention_decode*.cpp: the vector loops of one decoding step, one set per
// instruction set (sparse_attention_decode_impl.h compiled in sparse_attention_decode.cpp,
// sparse_attention_decode_avx2.cpp and sparse_attention_decode_avx512.cpp). Plain functions on
// raw pointers; the caller (sparse_attention_decode.cpp) gathers the key sets and splits the
// work over threads. Letters as in sparse_attention.h.
#pragma once

#include <cstdint>

namespace sieve::kernels::cpu {

// Logits of `count` key rows for `heads` query heads:
//   logits[h · logit_stride + c] = scale · q[h] · keys[positions[c] · row + (h / group) · D .. +D)
//                                  + (bias ? bias[c] : 0)
// q [heads, D]. The rows a few keys ahead are prefetched (all heads' parts of each).
struct DecodeScores {
  const float* q;
  const float* keys;
  std::int64_t row;  // floats between consecutive positions' rows
  const std::int32_t* positions;
  const float* bias;  // [count] or null
  std::int64_t count, heads, group, head_dim;
  float scale;
  std::int64_t logit_stride;
  float* logits;
};

struct DecodeKernels {
  void (*scores)(const DecodeScores& s);
  // max(init, x[0..n)).
  float (*max)(const float* x, std::int64_t n, float init);
  // x[c] = exp(x[c] − m) in place; returns their sum.
  float (*exp_sum)(float* x, std::int64_t n, float m);
  // out[0..D) += Σ_c p[c] · values[positions[c] · row .. +D), rows a few keys ahead prefetched.
  void (*accumulate)(const float* p, const std::int32_t* positions, std::int64_t n, const float* values,
                     std::int64_t row, std::int64_t head_dim, float* out);
};

namespace decode_portable {
DecodeKernels decode_kernels();
}
namespace decode_avx2 {
DecodeKernels decode_kernels();
}
namespace decode_avx512 {
DecodeKernels decode_kernels();
}

}  // namespace sieve::kernels::cpu
