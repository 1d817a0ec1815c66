// Checks of what clients send, before anything is queued: names, sampling parameters, stop
// strings, max_tokens and the prompt's length in tokens. Each failure is an invalid_argument
// whose message names the parameter and its allowed range.
#pragma once

#include <string>

#include "sieve/serve/sequence.h"
#include "sieve/serve/service.h"

namespace sieve::serve {

inline constexpr std::size_t kMaxStopStrings = 4;  // OpenAI's limit
inline constexpr std::size_t kMaxStopBytes = 256;

// Model and route names: 1–128 of letters, digits, '.', '_' and '-'.
bool valid_name(const std::string& name);

// Fills `sequence`'s prompt (tokenized with its version's tokenizer), max_new_tokens, sampling
// (all but the seed), stop strings and deadline from `request`, or says what is wrong with it.
Status prepare_sequence(const CompletionRequest& request, const ServiceOptions& options, SequenceRequest& sequence);

}  // namespace sieve::serve
