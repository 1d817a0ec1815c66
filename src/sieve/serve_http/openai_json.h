// The JSON this server answers with, in OpenAI's shapes plus a "sieve" extension object where a
// client may want Sieve's own facts (the model version that answered, a model's directory).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sieve/serve/completion.h"
#include "sieve/serve/service.h"

namespace sieve::serve_http {

// A whole completion: {"id","object":"text_completion","created","model","choices":[{"text",
// "index":0,"logprobs":null,"finish_reason"}],"usage":{...},"sieve":{"version"}}.
nlohmann::json completion_json(const serve::Completion& completion, const serve::CompletionChunk& end);
// One server-sent event's chunk: the same shape with `text` as the delta; finish_reason null
// until the last chunk, which also carries the usage.
nlohmann::json completion_delta_json(const serve::Completion& completion, const std::string& text);
nlohmann::json completion_last_chunk_json(const serve::Completion& completion, const serve::CompletionChunk& end);

// GET /v1/models: {"object":"list","data":[...]}, models (with their version, directory,
// precision and context length under "sieve") then routes (with their spec).
nlohmann::json model_list_json(const std::vector<serve::ModelInfo>& models,
                               const std::vector<serve::RouteInfo>& routes);

// A loaded model version, as the admin API reports it.
nlohmann::json model_info_json(const serve::ModelInfo& info);
nlohmann::json route_info_json(const serve::RouteInfo& route);

}  // namespace sieve::serve_http
