// Field-by-field translations between the sieve.v1 messages and the core's types; the services
// in this folder make the calls, these move the fields.
#pragma once

#include "sieve/serve/completion.h"
#include "sieve/serve/service.h"
#include "sieve/v1/inference.pb.h"

namespace sieve::serve {

// The message's fields as the core takes them. max_tokens 0 stays 0 (the core applies its
// default) and an unset optional field keeps the core's default; the core validates the values.
// The routing key's metadata fallback and the deadline belong to the call, not the message:
// the inference service adds them.
CompletionRequest to_completion_request(const v1::GenerateRequest& request);

void fill_model_info(const ModelInfo& info, v1::ModelInfo* out);
void fill_usage(const CompletionUsage& usage, v1::Usage* out);

}  // namespace sieve::serve
