// Small models for the pruning tests: a GQA config (4 query heads over 2 kv heads) whose
// weights are redrawn larger than the initialisation, so removing any unit moves the logits.
#pragma once

#include <memory>

#include "sieve/core/rng.h"
#include "sieve/nn/models/llama.h"

namespace sieve::compress::testing {

inline nn::LlamaConfig prune_test_config() {
  nn::LlamaConfig c;
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 24;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 32;
  return c;
}

// A model of `config` with every weight N(0, std²) (norms stay 1).
inline std::unique_ptr<nn::LlamaForCausalLM> prune_test_model(const nn::LlamaConfig& config, std::uint64_t seed,
                                                              double std = 0.15) {
  auto model = std::make_unique<nn::LlamaForCausalLM>(config, seed);
  core::Rng rng(seed + 1);
  for (auto& [name, p] : model->named_parameters()) {
    if (name.find("norm") != std::string::npos) continue;
    float* w = p.data<float>();
    for (std::int64_t i = 0; i < p.numel(); ++i) w[i] = static_cast<float>(std * rng.normal());
  }
  return model;
}

// The parameter `name` of `model`.
inline core::Tensor parameter(const nn::Module& model, const std::string& name) {
  for (const auto& [n, p] : model.named_parameters())
    if (n == name) return p;
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

// Zeroes columns [begin, end) of the [M, K] parameter `name`.
inline void zero_columns(const nn::Module& model, const std::string& name, std::int64_t begin, std::int64_t end) {
  core::Tensor w = parameter(model, name);
  const std::int64_t M = w.size(0), K = w.size(1);
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t k = begin; k < end; ++k) w.data<float>()[m * K + k] = 0.0f;
}

}  // namespace sieve::compress::testing
