// The pluggable self-attention interface of a decoder block, and its factory. A layer's
// attention is chosen by config ("attention": {"type": ...}); the block only sees this
// interface, so new kinds (sparse) slot in without touching the model.
// Letters: B batch, T tokens, C channels.
#pragma once

#include <memory>
#include <span>

#include "sieve/nn/attention/kv_cache.h"
#include "sieve/nn/models/llama_config.h"
#include "sieve/nn/module.h"

namespace sieve::nn {

// Several independent sequences packed into one input row (continuous batching): sequence i
// owns the next lengths[i] tokens of the row and its own cache (batch 1), at its own position.
struct PackedSequences {
  std::span<const std::int64_t> lengths;
  std::span<LayerKvCache* const> caches;
};

class Attention : public Module {
 public:
  // x [B, T, C] → [B, T, C]. With a cache, x holds the T newest tokens (positions
  // cache->length() ...), their keys/values are appended, and queries see the whole cache.
  virtual Tensor forward(const Tensor& x, LayerKvCache* cache) const = 0;
  // x [1, N, C] holding the packed sequences' new tokens → [1, N, C], each sequence attending
  // to its own cache only. This runs forward() on each sequence's rows; a kind whose
  // projections can run once over all N rows overrides it.
  virtual Tensor forward_packed(const Tensor& x, const PackedSequences& sequences) const;
};

std::shared_ptr<Attention> make_attention(const LlamaConfig& config, std::int64_t layer, core::Rng& rng);

}  // namespace sieve::nn
