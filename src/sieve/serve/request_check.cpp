#include "sieve/serve/request_check.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>

namespace sieve::serve {
namespace {

Status invalid(std::string message) { return Status::error(Code::invalid_argument, std::move(message)); }

Status check_sampling(const CompletionRequest& request) {
  if (!std::isfinite(request.temperature) || request.temperature < 0.0f || request.temperature > 2.0f)
    return invalid(fmt::format("temperature must be in [0, 2], got {}", request.temperature));
  if (!std::isfinite(request.top_p) || request.top_p <= 0.0f || request.top_p > 1.0f)
    return invalid(fmt::format("top_p must be in (0, 1], got {}", request.top_p));
  if (request.top_k < 0) return invalid(fmt::format("top_k must be >= 0 (0: no limit), got {}", request.top_k));
  return {};
}

Status check_stop(const std::vector<std::string>& stop) {
  if (stop.size() > kMaxStopStrings)
    return invalid(fmt::format("stop takes at most {} strings, got {}", kMaxStopStrings, stop.size()));
  for (const std::string& s : stop)
    if (s.empty() || s.size() > kMaxStopBytes)
      return invalid(fmt::format("each stop string must have 1 to {} bytes, got {}", kMaxStopBytes, s.size()));
  return {};
}

}  // namespace

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

Status prepare_sequence(const CompletionRequest& request, const ServiceOptions& options, SequenceRequest& sequence) {
  if (Status status = check_sampling(request); !status.ok()) return status;
  if (Status status = check_stop(request.stop); !status.ok()) return status;
  const std::int64_t max_tokens = request.max_tokens == 0 ? options.default_max_tokens : request.max_tokens;
  if (max_tokens < 1 || max_tokens > options.max_tokens)
    return invalid(fmt::format("max_tokens must be in [1, {}], got {}", options.max_tokens, request.max_tokens));
  const ModelVersion& version = *sequence.version;
  const std::int64_t context = version.info.context_length;
  const std::int64_t prompt_limit =
      options.max_prompt_tokens > 0 ? std::min(options.max_prompt_tokens, context - 1) : context - 1;
  // A prompt far longer than any allowed one is refused before it is tokenized (pieces have at least one byte).
  if (static_cast<std::int64_t>(request.prompt.size()) > 64 * prompt_limit)
    return invalid(fmt::format("the prompt has {} bytes; the model '{}' takes at most {} tokens", request.prompt.size(),
                               version.info.name, prompt_limit));
  try {
    sequence.prompt = prompt_ids(version, request.prompt);
  } catch (const std::exception& error) {
    return invalid(fmt::format("the prompt cannot be tokenized: {}", error.what()));
  }
  const auto prompt_length = static_cast<std::int64_t>(sequence.prompt.size());
  if (prompt_length == 0) return invalid("the prompt is empty and the model's tokenizer has no BOS token");
  if (prompt_length > prompt_limit)
    return invalid(fmt::format("the prompt has {} tokens; the model '{}' takes at most {}", prompt_length,
                               version.info.name, prompt_limit));
  sequence.max_new_tokens = std::min(max_tokens, context - prompt_length);
  sequence.sampling.temperature = request.temperature;
  sequence.sampling.top_p = request.top_p;
  sequence.sampling.top_k = request.top_k;
  sequence.stop = request.stop;
  sequence.deadline = request.deadline;
  return {};
}

}  // namespace sieve::serve
