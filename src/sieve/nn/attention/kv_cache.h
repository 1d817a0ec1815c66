// Per-layer key/value cache for incremental decoding. Letters: B batch, S capacity (max
// tokens), Hkv key/value heads, D head dim.
#pragma once

#include <memory>
#include <vector>

#include "sieve/core/tensor.h"

namespace sieve::nn {

using core::Tensor;

// Extra per-layer decoding state an attention kind keeps beside the keys and values (sparse
// attention: its incremental plan index). Owned by the layer's cache, dropped by clear().
class AttentionDecodeState {
 public:
  virtual ~AttentionDecodeState() = default;
};

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
  void clear() {
    length_ = 0;
    state_.reset();
  }
  // The attention's own decoding state (null until the attention sets one).
  AttentionDecodeState* state() const { return state_.get(); }
  void set_state(std::unique_ptr<AttentionDecodeState> state) { state_ = std::move(state); }

 private:
  Tensor keys_;    // [B, S, Hkv, D]
  Tensor values_;  // [B, S, Hkv, D]
  std::int64_t length_ = 0;
  std::unique_ptr<AttentionDecodeState> state_;
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
