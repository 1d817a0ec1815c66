#include "sieve/nn/attention/attention.h"

#include "sieve/core/error.h"
#include "sieve/nn/attention/dense.h"
#include "sieve/nn/attention/sparse.h"

namespace sieve::nn {

std::shared_ptr<Attention> make_attention(const LlamaConfig& config, std::int64_t layer, core::Rng& rng) {
  const std::string& kind = config.attention.kind(layer);
  if (kind == "dense") return std::make_shared<DenseAttention>(config, rng);
  if (kind == "local" || kind == "sparse")
    return std::make_shared<SparseAttention>(config, kind == "local", layer, rng);
  core::throw_user_error("layer {}: unknown attention type '{}' (known: dense, local, sparse)", layer, kind);
}

}  // namespace sieve::nn
