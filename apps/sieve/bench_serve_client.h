// One simulated client of `sieve serve` (or of any server speaking its HTTP or gRPC API): sends
// a completion and reports what the load generator measures. Each client holds its own
// connection and is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "apps/sieve/bench_common.h"
#include "apps/sieve/bench_serve_target.h"

namespace sieve::apps {

// What every request of a run shares.
struct CompletionSettings {
  std::string model;
  std::int64_t max_tokens = 64;
  double temperature = 0.0;
  bool stream = false;
  double timeout_s = 300.0;  // a request still unanswered then is an error
};

// What differs from request to request.
struct CompletionCall {
  std::string prompt;
  std::string client_key;  // empty: none sent
  std::uint64_t seed = 0;
};

struct CompletionOutcome {
  bool ok = false;
  std::string error_code;     // when !ok: "http_429", "grpc_RESOURCE_EXHAUSTED", "connection", "bad_response", ...
  std::string error_message;  // when !ok: what the server or the transport said
  std::optional<BenchClock::time_point> first_text;  // streaming: when the first chunk with text arrived
  BenchClock::time_point end;                         // when the answer was complete
  std::int64_t completion_tokens = 0;
  std::int64_t version = -1;  // the model version that answered, when the server says (-1: unknown)

  // A request that failed now, with the code and message to report.
  static CompletionOutcome failed(std::string code, std::string message) {
    CompletionOutcome outcome;
    outcome.error_code = std::move(code);
    outcome.error_message = std::move(message);
    outcome.end = BenchClock::now();
    return outcome;
  }
};

class ServeClient {
 public:
  virtual ~ServeClient() = default;
  virtual CompletionOutcome complete(const CompletionCall& call) = 0;
  // The admin call that hot-reloads `model` from `directory`, authorised by `token`. Returns ""
  // on success, else the error.
  virtual std::string load_model(const std::string& model, const std::string& directory, const std::string& token) = 0;
};

// bench_serve_http.cpp: OpenAI's POST /v1/completions (server-sent events when streaming) and
// POST /admin/models/NAME.
std::unique_ptr<ServeClient> make_http_client(const ServeTarget& target, const CompletionSettings& settings);
// bench_serve_grpc.cpp: sieve.v1.Inference Generate / GenerateStream and Admin.LoadModel.
std::unique_ptr<ServeClient> make_grpc_client(const ServeTarget& target, const CompletionSettings& settings);

inline std::unique_ptr<ServeClient> make_serve_client(const ServeTarget& target, const CompletionSettings& settings) {
  return target.protocol == ServeProtocol::http ? make_http_client(target, settings)
                                                : make_grpc_client(target, settings);
}

}  // namespace sieve::apps
