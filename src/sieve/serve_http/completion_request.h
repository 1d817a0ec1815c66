// POST /v1/completions: OpenAI's request JSON and this server's headers, read into the core's
// CompletionRequest. This checks shapes and types; ranges (max_tokens, temperature, the prompt's
// length) are the Service's to judge, so both protocols judge them alike.
#pragma once

#include <httplib.h>

#include <string>

#include "sieve/serve/completion.h"

namespace sieve::serve_http {

struct CompletionCall {
  serve::CompletionRequest request;
  bool stream = false;
};

// Fields: model, prompt (a string, or an array of exactly one), max_tokens, temperature, top_p,
// top_k, seed, stop (a string or up to 4), stream, user (the sticky key). Headers:
// X-Client-Key (the sticky key; wins over user), X-Request-Timeout-Ms (the deadline). Unknown
// fields are ignored, as OpenAI does; OpenAI fields Sieve does not implement (n, best_of, echo,
// logprobs, suffix, penalties, logit_bias) are refused unless they hold their neutral value.
// Throws BadRequest naming the field.
CompletionCall parse_completion_call(const std::string& body, const httplib::Request& http);

}  // namespace sieve::serve_http
