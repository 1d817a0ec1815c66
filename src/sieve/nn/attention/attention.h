// The pluggable self-attention interface of a decoder block, and its factory. A layer's
// attention is chosen by config ("attention": {"type": ...}); the block only sees this
// interface, so new kinds (sparse) slot in without touching the model.
// Letters: B batch, T tokens, C channels.
#pragma once

#include <memory>

#include "sieve/nn/attention/kv_cache.h"
#include "sieve/nn/models/llama_config.h"
#include "sieve/nn/module.h"

namespace sieve::nn {

class Attention : public Module {
 public:
  // x [B, T, C] → [B, T, C]. With a cache, x holds the T newest tokens (positions
  // cache->length() ...), their keys/values are appended, and queries see the whole cache.
  virtual Tensor forward(const Tensor& x, LayerKvCache* cache) const = 0;
};

std::shared_ptr<Attention> make_attention(const LlamaConfig& config, std::int64_t layer, core::Rng& rng);

}  // namespace sieve::nn
