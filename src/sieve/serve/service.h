// The serving engine behind both protocols: models by name (versions, hot reload), routes
// (weighted A/B splits with stickiness and a shadow), one scheduler thread that runs continuous
// batches over every active sequence, and the metrics. The HTTP and gRPC adapters are thin
// translations of their wire formats onto this class; everything here is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/serve/completion.h"
#include "sieve/serve/status.h"

namespace sieve::serve {

struct ServiceOptions {
  std::int64_t max_batch = 32;          // sequences in one step (1: the unbatched baseline)
  std::int64_t max_batch_tokens = 512;  // tokens in one step; long prompts are prefilled in chunks
  std::int64_t max_queue = 256;         // requests waiting for a batch slot; more → resource_exhausted
  std::int64_t max_prompt_tokens = 0;   // 0: each model's context minus one
  std::int64_t max_tokens = 4096;       // the largest max_tokens a request may ask for
  std::int64_t default_max_tokens = 16; // a request's max_tokens when it names none (0)
  int threads = 0;                      // compute threads of the scheduler (0: all cores)
};

struct ModelInfo {
  std::string name;
  std::int64_t version = 0;
  std::filesystem::path directory;
  std::int64_t context_length = 0;
  std::string precision;  // "f32", "int8", "int4", "mixed"
  std::int64_t created_unix = 0;
};

struct RouteInfo {
  std::string name;
  std::string spec;  // "a:90,b:10[,shadow=c]"
};

// submit()'s answer: the completion, or why there is none.
struct Submission {
  Status status;
  std::shared_ptr<Completion> completion;
};

class Service {
 public:
  explicit Service(ServiceOptions options);
  ~Service();  // drains (see drain) and stops the scheduler
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Loads `directory` as version 1 of `name` (at start-up). Throws core::UserError when the
  // directory cannot be loaded or the name is taken.
  void add_model(const std::string& name, const std::filesystem::path& directory);
  // Hot update: loads `directory` (empty: the serving version's own) beside the serving version,
  // validates it (a short forward on the scheduler thread), then sends new requests to it;
  // in-flight ones finish on the old version, freed after. On failure the old version serves on
  // and the status (not_found, failed_precondition) says why. Blocks until done.
  Status reload_model(const std::string& name, const std::filesystem::path& directory, ModelInfo* loaded = nullptr);
  // Every model again from its directory (SIGHUP); the first failure is returned, the rest still tried.
  Status reload_all();
  // Creates or replaces the route `name` from `spec` ("a:90,b:10[,shadow=c]": models and
  // weights, an optional shadow that gets a copy whose answer is discarded). A route may not
  // shadow a model name.
  Status set_route(const std::string& name, const std::string& spec);

  std::vector<ModelInfo> models() const;
  std::vector<RouteInfo> routes() const;
  // True once start-up loading is over and until drain() begins.
  bool ready() const;
  // Whether `name` (a model or route) can take requests now.
  bool serving(const std::string& name) const;

  // Validates the request (unknown model → not_found, a bad parameter or a prompt too long →
  // invalid_argument, a full queue → resource_exhausted, draining → unavailable), picks the
  // variant, tokenizes, and queues it for the next step.
  Submission submit(CompletionRequest request);

  // The per-variant summary of route `name` (requests, errors, latency and time-to-first-token
  // quantiles, tokens/s), or nullopt when there is no such route.
  std::optional<nlohmann::json> experiment(const std::string& name) const;
  // Every metric in Prometheus' text exposition format.
  std::string metrics_text() const;

  // Stops taking requests (submit answers unavailable) and waits up to `timeout` for the
  // in-flight ones to end; those still running then are cancelled. Idempotent.
  void drain(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Admin bearer token: read from a file (trimmed; empty or unreadable → core::UserError) or drawn
// at random, compared in constant time against an `Authorization` value.
class AdminToken {
 public:
  static AdminToken from_file(const std::filesystem::path& file);
  // 128 bits from std::random_device, as 32 hex digits.
  static AdminToken random();
  const std::string& text() const { return token_; }
  // `authorization` is the whole header value ("Bearer <token>").
  bool accepts(std::string_view authorization) const;

 private:
  explicit AdminToken(std::string token) : token_(std::move(token)) {}
  std::string token_;
};

}  // namespace sieve::serve
