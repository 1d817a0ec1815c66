// Autoregressive generation with a KV cache: the prompt is run once (prefill), then one
// token per step, each step costing one cached forward of a single token.
#pragma once

#include <functional>
#include <vector>

#include "sieve/nn/models/llama.h"
#include "sieve/nn/sampler.h"

namespace sieve::nn {

struct GenerationOptions {
  std::int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  std::int64_t stop_token = -1;  // stop after emitting this id (e.g. EOS); -1 = never
};

// Called with each new token as it is made; return false to stop early.
using TokenCallback = std::function<bool(std::int64_t token)>;

// Generates after `prompt` (non-empty). Returns the new tokens. The prompt plus the new
// tokens must fit max_position_embeddings (new tokens are capped to fit).
std::vector<std::int64_t> generate(const LlamaForCausalLM& model, const std::vector<std::int64_t>& prompt,
                                   const GenerationOptions& options, const TokenCallback& on_token = {});

}  // namespace sieve::nn
