// The HTTP client of `sieve bench serve`: OpenAI's POST /v1/completions over cpp-httplib, a
// streamed answer read as server-sent events (`data: {...}` ... `data: [DONE]`).
#include <httplib.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "apps/sieve/bench_serve_client.h"

namespace sieve::apps {
namespace {

// The header a sticky routing key travels in (gRPC: the `client_key` field).
constexpr const char* kClientKeyHeader = "X-Client-Key";

nlohmann::json request_body(const CompletionSettings& settings, const CompletionCall& call) {
  nlohmann::json body{{"model", settings.model},
                      {"prompt", call.prompt},
                      {"max_tokens", settings.max_tokens},
                      {"temperature", settings.temperature},
                      {"seed", call.seed}};
  if (settings.stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};  // OpenAI's way to ask for usage in the last chunk
  }
  return body;
}

CompletionOutcome transport_failure(httplib::Error error) {
  const char* code = error == httplib::Error::Connection ? "connect_failed"
                     : error == httplib::Error::Read     ? "read_failed"
                     : error == httplib::Error::Write    ? "write_failed"
                                                         : "transport";
  return CompletionOutcome::failed(code, httplib::to_string(error));
}

// The completion tokens an answer's `usage` object reports, or -1 when it has none.
std::int64_t completion_tokens_of(const nlohmann::json& answer) {
  const auto usage = answer.find("usage");
  if (usage == answer.end() || !usage->is_object()) return -1;
  const auto tokens = usage->find("completion_tokens");
  return tokens != usage->end() && tokens->is_number_integer() ? tokens->get<std::int64_t>() : -1;
}

// The model version `sieve serve` names in an answer's "sieve" object, or -1 when there is none.
std::int64_t version_of(const nlohmann::json& answer) {
  const auto sieve = answer.find("sieve");
  if (sieve == answer.end() || !sieve->is_object()) return -1;
  const auto version = sieve->find("version");
  return version != sieve->end() && version->is_number_integer() ? version->get<std::int64_t>() : -1;
}

// The text of choices[0], or "" when the answer has none.
std::string first_choice_text(const nlohmann::json& answer) {
  const auto choices = answer.find("choices");
  if (choices == answer.end() || !choices->is_array() || choices->empty()) return "";
  const auto text = choices->front().find("text");
  return text != choices->front().end() && text->is_string() ? text->get<std::string>() : "";
}

// Cuts a server-sent event stream, received in arbitrary pieces, into the data of its events (the
// `data:` lines of one event joined by newlines; an event ends at a blank line).
class EventStreamReader {
 public:
  template <typename OnEvent>
  void feed(const char* bytes, std::size_t size, OnEvent&& on_event) {
    pending_.append(bytes, size);
    std::size_t line_start = 0;
    for (std::size_t newline; (newline = pending_.find('\n', line_start)) != std::string::npos;
         line_start = newline + 1) {
      std::string_view line(pending_.data() + line_start, newline - line_start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) {
        if (has_data_) on_event(data_);
        data_.clear();
        has_data_ = false;
      } else if (line.starts_with("data:")) {
        line.remove_prefix(5);
        if (line.starts_with(' ')) line.remove_prefix(1);
        if (has_data_) data_ += '\n';
        data_ += line;
        has_data_ = true;
      }  // other fields (event:, id:, comments) carry nothing a completion needs
    }
    pending_.erase(0, line_start);
  }

 private:
  std::string pending_;  // bytes after the last complete line
  std::string data_;     // the current event's data so far
  bool has_data_ = false;
};

class HttpServeClient final : public ServeClient {
 public:
  HttpServeClient(const ServeTarget& target, const CompletionSettings& settings)
      : client_(target.host, target.port), settings_(settings) {
    const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::duration<double>(settings.timeout_s));
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);
    client_.set_connection_timeout(std::chrono::seconds(5));
    client_.set_read_timeout(timeout);
    client_.set_write_timeout(timeout);
  }

  CompletionOutcome complete(const CompletionCall& call) override {
    httplib::Headers headers;
    if (!call.client_key.empty()) headers.emplace(kClientKeyHeader, call.client_key);
    const std::string body = request_body(settings_, call).dump();
    return settings_.stream ? complete_streaming(headers, body) : complete_whole(headers, body);
  }

  std::string load_model(const std::string& model, const std::string& directory, const std::string& token) override {
    const httplib::Headers headers{{"Authorization", "Bearer " + token}};
    const auto result = client_.Post("/admin/models/" + model, headers,
                                     nlohmann::json{{"directory", directory}}.dump(), "application/json");
    if (!result) return "HTTP transport: " + httplib::to_string(result.error());
    if (result->status != 200) return fmt::format("HTTP {}: {}", result->status, result->body);
    return "";
  }

 private:
  CompletionOutcome complete_whole(const httplib::Headers& headers, const std::string& body) {
    const auto result = client_.Post("/v1/completions", headers, body, "application/json");
    if (!result) return transport_failure(result.error());
    const BenchClock::time_point end = BenchClock::now();
    if (result->status != 200) return CompletionOutcome::failed(fmt::format("http_{}", result->status), result->body);
    const nlohmann::json answer = nlohmann::json::parse(result->body, nullptr, false);
    const std::int64_t tokens = answer.is_discarded() ? -1 : completion_tokens_of(answer);
    if (tokens < 0) return CompletionOutcome::failed("bad_response", "a 200 answer without usage.completion_tokens: " + result->body);
    CompletionOutcome outcome;
    outcome.ok = true;
    outcome.end = end;
    outcome.completion_tokens = tokens;
    outcome.version = version_of(answer);
    return outcome;
  }

  CompletionOutcome complete_streaming(const httplib::Headers& headers, const std::string& body) {
    httplib::Request request;
    request.method = "POST";
    request.path = "/v1/completions";
    request.headers = headers;
    request.body = body;
    request.set_header("Content-Type", "application/json");
    int status = 0;
    std::string error_body;  // a non-200 answer's body
    EventStreamReader events;
    CompletionOutcome outcome;
    bool done = false;
    std::string stream_error;  // an error event, or data that is not JSON
    std::int64_t tokens = -1;
    request.response_handler = [&](const httplib::Response& response) {
      status = response.status;
      return true;
    };
    request.content_receiver = [&](const char* bytes, std::size_t size, std::uint64_t, std::uint64_t) {
      if (status != 200) {
        error_body.append(bytes, size);
        return true;
      }
      events.feed(bytes, size, [&](const std::string& data) {
        if (data == "[DONE]") {
          done = true;
          return;
        }
        const nlohmann::json chunk = nlohmann::json::parse(data, nullptr, false);
        if (chunk.is_discarded() || chunk.contains("error")) {
          if (stream_error.empty()) stream_error = data;
          return;
        }
        if (!outcome.first_text && !first_choice_text(chunk).empty()) outcome.first_text = BenchClock::now();
        if (const std::int64_t t = completion_tokens_of(chunk); t >= 0) tokens = t;
        if (const std::int64_t v = version_of(chunk); v >= 0) outcome.version = v;
      });
      return true;
    };
    const auto result = client_.send(request);
    if (!result) return transport_failure(result.error());
    outcome.end = BenchClock::now();
    if (status != 200) return CompletionOutcome::failed(fmt::format("http_{}", status), error_body);
    if (!stream_error.empty()) return CompletionOutcome::failed("stream_error", stream_error);
    if (!done) return CompletionOutcome::failed("bad_response", "the event stream ended without data: [DONE]");
    if (tokens < 0) return CompletionOutcome::failed("bad_response", "no chunk of the event stream carried usage.completion_tokens");
    outcome.ok = true;
    outcome.completion_tokens = tokens;
    return outcome;
  }

  httplib::Client client_;
  const CompletionSettings settings_;
};

}  // namespace

std::unique_ptr<ServeClient> make_http_client(const ServeTarget& target, const CompletionSettings& settings) {
  return std::make_unique<HttpServeClient>(target, settings);
}

}  // namespace sieve::apps
