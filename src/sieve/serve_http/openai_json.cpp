#include "sieve/serve_http/openai_json.h"

namespace sieve::serve_http {
namespace {

nlohmann::json finish_reason_json(serve::FinishReason reason) {
  if (reason == serve::FinishReason::none) return nullptr;
  return serve::finish_reason_name(reason);
}

nlohmann::json usage_json(const serve::CompletionUsage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

// The fields every completion object and chunk share, with one choice.
nlohmann::json completion_object(const serve::Completion& completion, const std::string& text,
                                 serve::FinishReason reason) {
  const nlohmann::json choice = {
      {"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason_json(reason)}};
  return {{"id", completion.id()},
          {"object", "text_completion"},
          {"created", completion.created_unix()},
          {"model", completion.model()},
          {"choices", nlohmann::json::array({choice})},
          {"sieve", {{"version", completion.version()}}}};
}

}  // namespace

nlohmann::json completion_json(const serve::Completion& completion, const serve::CompletionChunk& end) {
  nlohmann::json object = completion_object(completion, end.text, end.finish_reason);
  object["usage"] = usage_json(end.usage);
  return object;
}

nlohmann::json completion_delta_json(const serve::Completion& completion, const std::string& text) {
  return completion_object(completion, text, serve::FinishReason::none);
}

nlohmann::json completion_last_chunk_json(const serve::Completion& completion, const serve::CompletionChunk& end) {
  nlohmann::json object = completion_object(completion, "", end.finish_reason);
  object["usage"] = usage_json(end.usage);
  return object;
}

nlohmann::json model_info_json(const serve::ModelInfo& info) {
  return {{"name", info.name},
          {"version", info.version},
          {"directory", info.directory.string()},
          {"precision", info.precision},
          {"context_length", info.context_length},
          {"created", info.created_unix}};
}

nlohmann::json route_info_json(const serve::RouteInfo& route) { return {{"name", route.name}, {"spec", route.spec}}; }

nlohmann::json model_list_json(const std::vector<serve::ModelInfo>& models,
                               const std::vector<serve::RouteInfo>& routes) {
  nlohmann::json data = nlohmann::json::array();
  for (const serve::ModelInfo& info : models) {
    data.push_back({{"id", info.name},
                    {"object", "model"},
                    {"created", info.created_unix},
                    {"owned_by", "sieve"},
                    {"sieve",
                     {{"version", info.version},
                      {"directory", info.directory.string()},
                      {"precision", info.precision},
                      {"context_length", info.context_length}}}});
  }
  // A route has no load time of its own; created 0 keeps OpenAI's integer field.
  for (const serve::RouteInfo& route : routes)
    data.push_back({{"id", route.name},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "sieve"},
                    {"sieve", {{"route", route.spec}}}});
  return {{"object", "list"}, {"data", data}};
}

}  // namespace sieve::serve_http
