#include "sieve/kernels/cpu/sparse_attention_decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "sieve/core/error.h"

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

void sparse_attention_decode(const SparseAttentionShape& shape, std::int64_t position, const float* q,
                             const float* keys, const float* values, const float* key_bias, SparseDecodeIndex& index,
                             const float* rotations, float* out) {
  const std::int64_t H = shape.heads, Hkv = shape.kv_heads, D = shape.head_dim, W = shape.window;
  const std::int64_t R = shape.rounds, C = shape.lsh_keys, half = shape.buckets / 2;
  SIEVE_CHECK(H % Hkv == 0 && position >= 0 && (R == 0 || rotations != nullptr),
              "sparse_attention_decode: bad shape or missing rotations");
  const std::int64_t group = H / Hkv;
  const std::int64_t horizon = position - W;  // global and LSH keys are <= this
  const std::span<const std::int32_t> global = index.global_keys(position);

  std::vector<std::int32_t> candidates;  // this head's key positions
  std::vector<float> bias, logits, scratch(static_cast<std::size_t>(std::max<std::int64_t>(half, 1)));
  std::vector<std::span<const std::int32_t>> taken(static_cast<std::size_t>(R));  // earlier rounds' last-C
  for (std::int64_t h = 0; h < H; ++h) {
    const std::int64_t g = h / group;
    const float* qh = q + h * D;
    candidates.clear();
    bias.clear();
    for (std::int64_t j = std::max<std::int64_t>(0, position - W + 1); j <= position; ++j) {  // local
      candidates.push_back(static_cast<std::int32_t>(j));
      bias.push_back(0.0f);
    }
    for (std::int32_t j : global) {
      if (j > horizon) break;  // ascending
      candidates.push_back(j);
      bias.push_back(key_bias[j]);
    }
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
        if (earlier) continue;
        candidates.push_back(j);
        bias.push_back(0.0f);
      }
    }
    // One softmax over the union (the three sets are disjoint by construction).
    logits.resize(candidates.size());
    float max_logit = -std::numeric_limits<float>::infinity();
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      logits[c] = shape.scale * dot(qh, keys + (candidates[c] * Hkv + g) * D, D) + bias[c];
      max_logit = std::max(max_logit, logits[c]);
    }
    float* oh = out + h * D;
    std::fill(oh, oh + D, 0.0f);
    float total = 0.0f;
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      const float p = std::exp(logits[c] - max_logit);
      total += p;
      const float* vj = values + (candidates[c] * Hkv + g) * D;
      for (std::int64_t d = 0; d < D; ++d) oh[d] += p * vj[d];
    }
    for (std::int64_t d = 0; d < D; ++d) oh[d] /= total;
  }
}

}  // namespace sieve::kernels::cpu
