// Text in, text out around nn::generate: the prompt as the model sees it (BOS, then its pieces),
// end-of-sequence as the stop token, and the continuation decoded piece by piece so that the
// text is the decode of all the ids (a first new piece keeps its leading space). `sieve
// generate` streams it to stdout; the Python module's Model.generate and Model.stream use it too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "sieve/data/tokenizer.h"
#include "sieve/nn/generation.h"

namespace sieve::apps {

struct TextGenerationCallbacks {
  std::function<void(std::string_view)> on_prompt{};  // the prompt's decoded text, before generating
  std::function<bool(std::string_view)> on_text{};   // each new piece of text; return false to stop
};

// Checks the sampling options and the tokenizer against the model (core::UserError), then
// generates. options.stop_token is set to the tokenizer's EOS when stop_at_eos. Returns the
// number of new tokens.
std::int64_t generate_text(const nn::LlamaForCausalLM& model, const data::Tokenizer& tokenizer,
                           const std::string& prompt, nn::GenerationOptions options, bool stop_at_eos,
                           const TextGenerationCallbacks& callbacks);

}  // namespace sieve::apps
