// Per-layer key/value cache for incremental decoding. Letters: B batch, S capacity (max
// tokens), Hkv key/value heads, D head dim.
#pragma once

#include <vector>

#include "sieve/core/tensor.h"

namespace sieve::nn {

using core::Tensor;

class LayerKvCache {
 public:
  LayerKvCache(std::int64_t batch, std::int64_t capacity, std::int64_t kv_heads, std::int64_t head_dim);

  std::int64_t length() const { return length_; }
  std::int64_t capacity() const { return keys_.size(1); }
  // Appends k, v [B, T, Hkv, D] at positions length()..length()+T-1.
  void append(const Tensor& k, const Tensor& v);
  // Views [B, length(), Hkv, D] over the cache (batch stride = capacity·Hkv·D, no copy).
  Tensor keys() const { return keys_.slice(1, 0, length_); }
  Tensor values() const { return values_.slice(1, 0, length_); }
  void clear() { length_ = 0; }

 private:
  Tensor keys_;    // [B, S, Hkv, D]
  Tensor values_;  // [B, S, Hkv, D]
  std::int64_t length_ = 0;
};

// One LayerKvCache per decoder layer.
struct KvCache {
  std::vector<LayerKvCache> layers;
  std::int64_t length() const { return layers.empty() ? 0 : layers.front().length(); }
  void clear() {
    for (auto& layer : layers) layer.clear();
  }
};

}  // namespace sieve::nn
