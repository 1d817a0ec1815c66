#include "sieve/nn/attention/attention.h"

#include "sieve/core/error.h"
#include "sieve/nn/attention/dense.h"

namespace sieve::nn {

std::shared_ptr<Attention> make_attention(const LlamaConfig& config, std::int64_t layer, core::Rng& rng) {
  if (config.attention.type == "dense") return std::make_shared<DenseAttention>(config, rng);
  core::throw_user_error("layer {}: unknown attention type '{}' (known: dense)", layer, config.attention.type);
}

}  // namespace sieve::nn
