#include "apps/sieve/text_generation.h"

#include <vector>

#include "sieve/core/error.h"

namespace sieve::apps {

std::int64_t generate_text(const nn::LlamaForCausalLM& model, const data::Tokenizer& tokenizer,
                           const std::string& prompt, nn::GenerationOptions options, bool stop_at_eos,
                           const TextGenerationCallbacks& callbacks) {
  nn::validate(options.sampling);
  SIEVE_USER_CHECK(tokenizer.vocab_size() <= model.config().vocab_size,
                   "tokenizer vocabulary ({}) is larger than the model's ({})", tokenizer.vocab_size(),
                   model.config().vocab_size);
  std::vector<std::int64_t> ids;
  if (tokenizer.bos_id() >= 0) ids.push_back(tokenizer.bos_id());
  for (auto id : tokenizer.encode(prompt)) ids.push_back(id);
  if (stop_at_eos) options.stop_token = tokenizer.eos_id();

  data::StreamingDecoder decoder(tokenizer);
  const std::vector<std::int32_t> prompt_ids(ids.begin(), ids.end());
  const std::string prompt_text = decoder.push(prompt_ids);
  if (callbacks.on_prompt) callbacks.on_prompt(prompt_text);
  bool stopped = false;
  const auto produced = nn::generate(model, ids, options, [&](std::int64_t token) {
    if (token == options.stop_token) return true;
    const std::string text = decoder.push(static_cast<std::int32_t>(token));
    stopped = !callbacks.on_text(text);
    return !stopped;
  });
  if (!stopped) callbacks.on_text(decoder.finish());
  return static_cast<std::int64_t>(produced.size());
}

}  // namespace sieve::apps
