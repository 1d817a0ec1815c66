#include "sieve/kernels/cpu/sparse_attention_decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::kernels::cpu {
namespace {

bool contains(std::span<const std::int32_t> sorted, std::int32_t j) {
  return std::binary_search(sorted.begin(), sorted.end(), j);
}

float dot(const float* a, const float* b, std::int64_t n) {
  float acc = 0.0f;
  for (std::int64_t d = 0; d < n; ++d) acc += a[d] * b[d];
  return acc;
}

}  // namespace

// NOTE [Decode memory order]: the local window and the global list are the same for every head,
// so their logits are computed key by key with all heads at once — each key's [Hkv, D] row is
// one contiguous block, fetched once and prefetched ahead. On a long context the rows are
// scattered over a cache far larger than the CPU's caches (and its TLB: see the allocator's huge
// pages); walking them head by head would fetch each row H times from memory and make a step's
// time grow with the context length. The values are then summed per head (threads split the
// heads), reading rows the logit pass has just brought into the shared cache.
void sparse_attention_decode(const SparseAttentionShape& shape, std::int64_t position, const float* q,
                             const float* keys, const float* values, const float* key_bias, SparseDecodeIndex& index,
                             const float* rotations, float* out) {
  const std::int64_t H = shape.heads, Hkv = shape.kv_heads, D = shape.head_dim, W = shape.window;
  const std::int64_t R = shape.rounds, C = shape.lsh_keys, half = shape.buckets / 2;
  SIEVE_CHECK(H % Hkv == 0 && position >= 0 && (R == 0 || rotations != nullptr),
              "sparse_attention_decode: bad shape or missing rotations");
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
  const std::size_t S = shared.size();
  constexpr std::int64_t kPrefetch = 4;      // rows ahead
  constexpr std::int64_t kKeysPerTask = 64;
  std::vector<float> logits(static_cast<std::size_t>(H) * S);  // [H, S]
  // Threads split the keys here (each row is read once) and the heads below.
  core::parallel_for(static_cast<std::int64_t>(S), kKeysPerTask, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end; ++c) {
      if (c + kPrefetch < end) __builtin_prefetch(keys + shared[static_cast<std::size_t>(c + kPrefetch)] * row);
      const float* k_row = keys + shared[static_cast<std::size_t>(c)] * row;
      for (std::int64_t h = 0; h < H; ++h)
        logits[static_cast<std::size_t>(h * static_cast<std::int64_t>(S) + c)] =
            shape.scale * dot(q + h * D, k_row + (h / group) * D, D) + shared_bias[static_cast<std::size_t>(c)];
    }
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
      float* lh = logits.data() + static_cast<std::size_t>(h) * S;
      float m = -std::numeric_limits<float>::infinity();
      for (std::size_t c = 0; c < S; ++c) m = std::max(m, lh[c]);
      lsh_p.clear();
      for (std::int32_t j : lsh) {
        lsh_p.push_back(shape.scale * dot(qh, keys + j * row + g * D, D));
        m = std::max(m, lsh_p.back());
      }
      float total = 0.0f;
      for (std::size_t c = 0; c < S; ++c) total += (lh[c] = std::exp(lh[c] - m));
      for (float& p : lsh_p) total += (p = std::exp(p - m));
      float* oh = out + h * D;
      std::fill(oh, oh + D, 0.0f);
      for (std::size_t c = 0; c < S; ++c) {
        const float* vj = values + shared[c] * row + g * D;
        for (std::int64_t d = 0; d < D; ++d) oh[d] += lh[c] * vj[d];
      }
      for (std::size_t c = 0; c < lsh.size(); ++c) {
        const float* vj = values + lsh[c] * row + g * D;
        for (std::int64_t d = 0; d < D; ++d) oh[d] += lsh_p[c] * vj[d];
      }
      const float inv = 1.0f / total;
      for (std::int64_t d = 0; d < D; ++d) oh[d] *= inv;
    }
  });
}

}  // namespace sieve::kernels::cpu
