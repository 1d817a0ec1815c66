#include "sieve/nn/generation.h"

#include <algorithm>

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"

namespace sieve::nn {

std::vector<std::int64_t> generate(const LlamaForCausalLM& model, const std::vector<std::int64_t>& prompt,
                                   const GenerationOptions& options, const TokenCallback& on_token) {
  SIEVE_USER_CHECK(!prompt.empty(), "generation needs a non-empty prompt");
  SIEVE_USER_CHECK(options.max_new_tokens >= 0, "--max-new-tokens must be >= 0, got {}", options.max_new_tokens);
  const std::int64_t context = model.config().max_position_embeddings;
  const auto prompt_length = static_cast<std::int64_t>(prompt.size());
  SIEVE_USER_CHECK(prompt_length < context, "the prompt has {} tokens; the model's context is {}", prompt_length,
                   context);
  for (auto id : prompt)
    SIEVE_USER_CHECK(id >= 0 && id < model.config().vocab_size, "prompt token {} is outside the vocabulary (size {})",
                     id, model.config().vocab_size);
  const std::int64_t new_tokens = std::min(options.max_new_tokens, context - prompt_length);

  autograd::NoGradGuard no_grad;
  Sampler sampler(options.sampling);
  KvCache cache = model.make_cache(1, prompt_length + new_tokens);
  const std::int64_t vocab = model.config().vocab_size;
  std::vector<std::int64_t> produced;
  Tensor input = Tensor::from_vector(prompt, {1, prompt_length});
  for (std::int64_t step = 0; step < new_tokens; ++step) {
    const Tensor logits = model.next_token_logits(input, &cache).contiguous();  // [1, V]
    const float* last = logits.data<float>();
    const std::int64_t token = sampler.sample({last, static_cast<std::size_t>(vocab)});
    produced.push_back(token);
    if (on_token && !on_token(token)) break;
    if (token == options.stop_token) break;
    input = Tensor::from_vector(std::vector<std::int64_t>{token}, {1, 1});
  }
  return produced;
}

}  // namespace sieve::nn
