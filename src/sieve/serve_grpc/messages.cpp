#include "sieve/serve_grpc/messages.h"

namespace sieve::serve {

CompletionRequest to_completion_request(const v1::GenerateRequest& request) {
  CompletionRequest out;
  out.model = request.model();
  out.prompt = request.prompt();
  out.max_tokens = request.max_tokens();
  if (request.has_temperature()) out.temperature = request.temperature();
  if (request.has_top_p()) out.top_p = request.top_p();
  if (request.has_top_k()) out.top_k = request.top_k();
  if (request.has_seed()) out.seed = request.seed();
  out.stop.assign(request.stop().begin(), request.stop().end());
  out.client_key = request.client_key();
  return out;
}

void fill_model_info(const ModelInfo& info, v1::ModelInfo* out) {
  out->set_name(info.name);
  out->set_version(info.version);
  out->set_directory(info.directory.string());
  out->set_context_length(info.context_length);
  out->set_precision(info.precision);
  out->set_created(info.created_unix);
}

void fill_usage(const CompletionUsage& usage, v1::Usage* out) {
  out->set_prompt_tokens(usage.prompt_tokens);
  out->set_completion_tokens(usage.completion_tokens);
  out->set_total_tokens(usage.prompt_tokens + usage.completion_tokens);
}

}  // namespace sieve::serve
