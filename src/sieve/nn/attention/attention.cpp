#include "sieve/nn/attention/attention.h"

#include "sieve/core/error.h"
#include "sieve/nn/attention/dense.h"
#include "sieve/nn/attention/sparse.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {

Tensor Attention::forward_packed(const Tensor& x, const PackedSequences& sequences) const {
  SIEVE_CHECK(sequences.lengths.size() == sequences.caches.size(), "{} lengths for {} caches",
              sequences.lengths.size(), sequences.caches.size());
  std::vector<Tensor> outputs;
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < sequences.lengths.size(); ++i) {
    const std::int64_t length = sequences.lengths[i];
    outputs.push_back(forward(ops::slice(x, 1, offset, offset + length), sequences.caches[i]));
    offset += length;
  }
  SIEVE_CHECK(offset == x.size(1), "the packed lengths sum to {}, the input has {} tokens", offset, x.size(1));
  return outputs.size() == 1 ? outputs.front() : ops::concat(outputs, 1);
}

std::shared_ptr<Attention> make_attention(const LlamaConfig& config, std::int64_t layer, core::Rng& rng) {
  const std::string& kind = config.attention.kind(layer);
  if (kind == "dense") return std::make_shared<DenseAttention>(config, layer, rng);
  if (kind == "local" || kind == "sparse")
    return std::make_shared<SparseAttention>(config, kind == "local", layer, rng);
  core::throw_user_error("layer {}: unknown attention type '{}' (known: dense, local, sparse)", layer, kind);
}

}  // namespace sieve::nn
