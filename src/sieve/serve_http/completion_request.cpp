#include "sieve/serve_http/completion_request.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "sieve/serve_http/http_reply.h"
#include "sieve/serve_http/json_fields.h"

namespace sieve::serve_http {
namespace {

constexpr std::size_t kMaxStops = 4;                        // OpenAI's limit
constexpr std::int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;  // a day

std::string read_prompt(const nlohmann::json& body) {
  const auto found = body.find("prompt");
  if (found == body.end() || found->is_null()) throw BadRequest("'prompt' is required", "prompt");
  if (found->is_string()) return found->get<std::string>();
  if (found->is_array() && found->size() == 1 && (*found)[0].is_string()) return (*found)[0].get<std::string>();
  throw BadRequest("'prompt' must be a string or an array of exactly one string", "prompt");
}

std::vector<std::string> read_stop(const nlohmann::json& body) {
  const auto found = body.find("stop");
  if (found == body.end() || found->is_null()) return {};
  std::vector<std::string> stops;
  if (found->is_string()) {
    stops.push_back(found->get<std::string>());
  } else if (found->is_array() && found->size() <= kMaxStops) {
    for (const nlohmann::json& item : *found) {
      if (!item.is_string()) throw BadRequest("'stop' must hold only strings", "stop");
      stops.push_back(item.get<std::string>());
    }
  } else {
    throw BadRequest(fmt::format("'stop' must be a string or an array of at most {} strings", kMaxStops), "stop");
  }
  for (const std::string& stop : stops)
    if (stop.empty()) throw BadRequest("'stop' strings must not be empty", "stop");
  return stops;
}

// A JSON number that a float can hold (a larger one would be undefined behaviour to convert).
std::optional<float> float_field(const nlohmann::json& body, const std::string& name) {
  const std::optional<double> value = number_field(body, name);
  if (!value) return std::nullopt;
  if (!std::isfinite(*value) || std::fabs(*value) > std::numeric_limits<float>::max())
    throw BadRequest(fmt::format("'{}' is out of range", name), name);
  return static_cast<float>(*value);
}

// OpenAI fields whose other values would change the answer in ways Sieve does not implement.
void refuse_unsupported(const nlohmann::json& body) {
  const std::pair<const char*, nlohmann::json> neutral[] = {
      {"n", 1}, {"best_of", 1}, {"echo", false}, {"suffix", ""}, {"presence_penalty", 0},
      {"frequency_penalty", 0}, {"logit_bias", nlohmann::json::object()}};
  for (const auto& [name, value] : neutral) {
    const auto found = body.find(name);
    if (found != body.end() && !found->is_null() && *found != value)
      throw BadRequest(fmt::format("'{}' is not supported by this server (only {} is)", name, value.dump()), name);
  }
  const auto logprobs = body.find("logprobs");
  if (logprobs != body.end() && !logprobs->is_null())
    throw BadRequest("'logprobs' is not supported by this server (only null is)", "logprobs");
}

// 0 when absent: the service's default. An explicit 0 would read the same, so it is refused here.
std::int64_t read_max_tokens(const nlohmann::json& body) {
  const std::optional<std::int64_t> max_tokens = integer_field(body, "max_tokens");
  if (max_tokens && *max_tokens < 1) throw BadRequest("'max_tokens' must be at least 1", "max_tokens");
  return max_tokens.value_or(0);
}

std::optional<std::uint64_t> read_seed(const nlohmann::json& body) {
  const std::optional<std::int64_t> seed = integer_field(body, "seed");
  if (!seed) return std::nullopt;
  if (*seed < 0) throw BadRequest("'seed' must not be negative", "seed");
  return static_cast<std::uint64_t>(*seed);
}

std::optional<serve::Clock::time_point> read_deadline(const httplib::Request& http) {
  if (!http.has_header("X-Request-Timeout-Ms")) return std::nullopt;
  const std::string text = http.get_header_value("X-Request-Timeout-Ms");
  std::int64_t ms = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (error != std::errc() || end != text.data() + text.size() || ms <= 0 || ms > kMaxTimeoutMs)
    throw BadRequest(fmt::format("the X-Request-Timeout-Ms header must be a whole number of milliseconds from 1 to {}",
                                 kMaxTimeoutMs));
  return serve::Clock::now() + std::chrono::milliseconds(ms);
}

}  // namespace

CompletionCall parse_completion_call(const std::string& body_text, const httplib::Request& http) {
  const nlohmann::json body = parse_json_object(body_text);
  refuse_unsupported(body);
  CompletionCall call;
  serve::CompletionRequest& request = call.request;
  const std::optional<std::string> model = string_field(body, "model");
  if (!model) throw BadRequest("'model' is required", "model");
  request.model = *model;
  request.prompt = read_prompt(body);
  request.max_tokens = read_max_tokens(body);
  request.temperature = float_field(body, "temperature").value_or(request.temperature);
  request.top_p = float_field(body, "top_p").value_or(request.top_p);
  request.top_k = integer_field(body, "top_k").value_or(request.top_k);
  request.seed = read_seed(body);
  request.stop = read_stop(body);
  request.client_key =
      http.has_header("X-Client-Key") ? http.get_header_value("X-Client-Key") : string_field(body, "user").value_or("");
  request.deadline = read_deadline(http);
  call.stream = bool_field(body, "stream").value_or(false);
  return call;
}

}  // namespace sieve::serve_http
