// One decoding step of sparse attention: gathering the key sets, threads, and the run-time
// choice of the vector loops (sparse_attention_decode_impl.h, compiled here with the portable
// Vec and in sparse_attention_decode_avx2.cpp / _avx512.cpp with intrinsics).
#include "sieve/kernels/cpu/sparse_attention_decode.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "sieve/core/cpu_features.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/sparse_attention_decode_kernels.h"

namespace sieve::kernels::cpu::decode_portable {

// Plain C++ lanes for CPUs without AVX2 (and SIEVE_ISA=scalar).
#include "sieve/kernels/cpu/attention_vec_portable.h"

}  // namespace sieve::kernels::cpu::decode_portable

#define SIEVE_DECODE_ISA decode_portable
#include "sieve/kernels/cpu/sparse_attention_decode_impl.h"
#undef SIEVE_DECODE_ISA

namespace sieve::kernels::cpu {
namespace {

DecodeKernels kernels_for(AttentionIsa isa) {
  const core::CpuFeatures& f = core::cpu_features();
  switch (isa) {
    case AttentionIsa::avx512:
      SIEVE_CHECK(f.has_avx512(), "sparse_attention_decode: AVX-512 is not available on this CPU ({})", f.describe());
      return decode_avx512::decode_kernels();
    case AttentionIsa::avx2:
      SIEVE_CHECK(f.has_avx2(), "sparse_attention_decode: AVX2 is not available on this CPU ({})", f.describe());
      return decode_avx2::decode_kernels();
    case AttentionIsa::portable:
      break;
  }
  return decode_portable::decode_kernels();
}

bool contains(std::span<const std::int32_t> sorted, std::int32_t j) {
  return std::binary_search(sorted.begin(), sorted.end(), j);
}

}  // namespace

// NOTE [Decode memory order]: the local window and the global list are the same for every head,
// so their logits are computed key by key with all heads at once — each key's [Hkv, D] row is
// one contiguous block, fetched once and prefetched ahead. On a long context the rows are
// scattered over a cache far larger than the CPU's caches (and its TLB: see the allocator's huge
// pages); walking them head by head would fetch each row H times from memory. The values are
// then summed per head (threads split the heads), each head's D values of a row prefetched a
// few keys ahead. What a step computes is O(W + G + R·C) vector operations of D lanes; the
// memory it waits on is the same number of rows, wherever in the cache they lie.
void sparse_attention_decode_isa(AttentionIsa isa, const SparseAttentionShape& shape, std::int64_t position,
                                 const float* q, const float* keys, const float* values, const float* key_bias,
                                 SparseDecodeIndex& index, const float* rotations, float* out) {
  const std::int64_t H = shape.heads, Hkv = shape.kv_heads, D = shape.head_dim, W = shape.window;
  const std::int64_t R = shape.rounds, C = shape.lsh_keys, half = shape.buckets / 2;
  SIEVE_CHECK(Hkv > 0 && H % Hkv == 0 && D > 0 && position >= 0 && (R == 0 || rotations != nullptr),
              "sparse_attention_decode: bad shape or missing rotations");
  const DecodeKernels kernels = kernels_for(isa);
  const std::int64_t group = H / Hkv, row = Hkv * D;
  const std::int64_t horizon = position - W;  // global and LSH keys are <= this
  const std::span<const std::int32_t> global = index.global_keys(position);

  // Keys every head sees: the window, then the global keys in the past of the window.
  std::vector<std::int32_t> shared;
  std::vector<float> shared_bias;
  for (std::int64_t j = std::max<std::int64_t>(0, position - W + 1); j <= position; ++j) {
    shared.push_back(static_cast<std::int32_t>(j));
    shared_bias.push_back(0.0f);
  }
  for (std::int32_t j : global) {
    if (j > horizon) break;  // ascending
    shared.push_back(j);
    shared_bias.push_back(key_bias[j]);
  }
  const auto S = static_cast<std::int64_t>(shared.size());
  constexpr std::int64_t kKeysPerTask = 64;
  std::vector<float> logits(static_cast<std::size_t>(H * S));  // [H, S]
  // Threads split the keys here (each row is read once) and the heads below.
  core::parallel_for(S, kKeysPerTask, [&](std::int64_t begin, std::int64_t end) {
    kernels.scores({.q = q, .keys = keys, .row = row, .positions = shared.data() + begin,
                    .bias = shared_bias.data() + begin, .count = end - begin, .heads = H, .group = group,
                    .head_dim = D, .scale = shape.scale, .logit_stride = S, .logits = logits.data() + begin});
  });

  // Per head: its LSH keys (at most R·C, scattered), one softmax over its union (the sets are
  // disjoint by construction), and the weighted sum of values.
  core::parallel_for(H, 1, [&](std::int64_t h_begin, std::int64_t h_end) {
    std::vector<float> scratch(static_cast<std::size_t>(std::max<std::int64_t>(half, 1)));
    std::vector<std::span<const std::int32_t>> taken(static_cast<std::size_t>(R));  // earlier rounds' last C
    std::vector<std::int32_t> lsh;
    std::vector<float> lsh_p;
    for (std::int64_t h = h_begin; h < h_end; ++h) {
      const std::int64_t g = h / group;
      const float* qh = q + h * D;
      lsh.clear();
      for (std::int64_t r = 0; r < R; ++r) {
        const float* rotation = rotations + (r * Hkv + g) * D * half;
        const std::int32_t bucket = lsh_bucket(qh, rotation, D, shape.buckets, scratch.data());
        const std::span<const std::int32_t> in_bucket = index.bucket_keys(r, g, bucket, position);
        const std::size_t keep = std::min(in_bucket.size(), static_cast<std::size_t>(C));
        const std::span<const std::int32_t> last = in_bucket.subspan(in_bucket.size() - keep);  // the C most recent
        taken[static_cast<std::size_t>(r)] = last;
        for (std::int32_t j : last) {
          if (contains(global, j)) continue;
          bool earlier = false;
          for (std::int64_t e = 0; e < r && !earlier; ++e) earlier = contains(taken[static_cast<std::size_t>(e)], j);
          if (!earlier) lsh.push_back(j);
        }
      }
      const auto n = static_cast<std::int64_t>(lsh.size());
      lsh_p.resize(lsh.size());
      kernels.scores({.q = qh, .keys = keys + g * D, .row = row, .positions = lsh.data(), .bias = nullptr,
                      .count = n, .heads = 1, .group = 1, .head_dim = D, .scale = shape.scale, .logit_stride = n,
                      .logits = lsh_p.data()});
      float* lh = logits.data() + h * S;
      const float m = kernels.max(lsh_p.data(), n, kernels.max(lh, S, -std::numeric_limits<float>::infinity()));
      const float total = kernels.exp_sum(lh, S, m) + kernels.exp_sum(lsh_p.data(), n, m);
      float* oh = out + h * D;
      std::fill(oh, oh + D, 0.0f);
      kernels.accumulate(lh, shared.data(), S, values + g * D, row, D, oh);
      kernels.accumulate(lsh_p.data(), lsh.data(), n, values + g * D, row, D, oh);
      const float inv = 1.0f / total;
      for (std::int64_t d = 0; d < D; ++d) oh[d] *= inv;
    }
  });
}

void sparse_attention_decode(const SparseAttentionShape& shape, std::int64_t position, const float* q,
                             const float* keys, const float* values, const float* key_bias, SparseDecodeIndex& index,
                             const float* rotations, float* out) {
  sparse_attention_decode_isa(attention_causal_default_isa(), shape, position, q, keys, values, key_bias, index,
                              rotations, out);
}

}  // namespace sieve::kernels::cpu
