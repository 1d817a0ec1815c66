// `sieve serve`: the inference server — models by name, HTTP (OpenAI-compatible) on loopback by
// default and gRPC when asked, continuous batching, hot updates (admin API or SIGHUP), A/B
// routes, and a graceful drain on SIGTERM / SIGINT. docs/serving.md has the API.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "apps/sieve/listen_address.h"
#include "apps/sieve/verbs.h"
#include "sieve/core/error.h"
#include "sieve/serve/service.h"
#include "sieve/serve_grpc/grpc_server.h"
#include "sieve/serve_http/http_server.h"

namespace sieve::apps {
namespace {

struct ServeArgs {
  std::vector<std::string> models;  // NAME=DIR
  std::vector<std::string> routes;  // NAME=SPEC
  std::string http = "127.0.0.1:8080";
  std::string grpc;  // empty: no gRPC
  std::string admin_token_file;
  std::size_t max_request_bytes = 1 << 20;
  double drain_seconds = 30.0;
  serve::ServiceOptions service;
};

// "NAME=VALUE" → (NAME, VALUE); `flag` names the option in the error.
std::pair<std::string, std::string> split_assignment(const std::string& text, const char* flag) {
  const auto equals = text.find('=');
  SIEVE_USER_CHECK(equals != std::string::npos && equals > 0 && equals + 1 < text.size(),
                   "{} takes NAME=VALUE, got '{}'", flag, text);
  return {text.substr(0, equals), text.substr(equals + 1)};
}

// Blocks the signals the server handles, so every thread it starts inherits the mask and only
// the main thread's sigwait sees them.
sigset_t block_server_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (const int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void run_serve(const ServeArgs& args) {
  SIEVE_USER_CHECK(!args.models.empty(), "sieve serve needs at least one --model NAME=DIR");
  SIEVE_USER_CHECK(args.drain_seconds >= 0.0, "--drain-timeout must be >= 0, got {}", args.drain_seconds);
  const auto [host, port] = parse_listen_address(args.http, "--http", "sieve serve");
  if (!args.grpc.empty()) parse_listen_address(args.grpc, "--grpc", "sieve serve");
  std::optional<serve::AdminToken> admin_token;
  if (!args.admin_token_file.empty()) admin_token = serve::AdminToken::from_file(args.admin_token_file);

  const sigset_t signals = block_server_signals();
  serve::Service service(args.service);
  for (const std::string& model : args.models) {
    const auto [name, dir] = split_assignment(model, "--model");
    service.add_model(name, dir);
  }
  for (const std::string& route : args.routes) {
    const auto [name, spec] = split_assignment(route, "--route");
    const serve::Status status = service.set_route(name, spec);
    SIEVE_USER_CHECK(status.ok(), "--route {}: {}", route, status.message);
  }
  const serve::AdminToken* token = admin_token ? &*admin_token : nullptr;
  // gRPC first: once HTTP answers /health, both protocols take requests.
  std::optional<serve::GrpcServer> grpc;
  if (!args.grpc.empty()) {
    grpc.emplace(service, serve::GrpcServerOptions{.address = args.grpc,
                                                   .max_message_bytes = static_cast<int>(std::min<std::size_t>(
                                                       args.max_request_bytes, std::numeric_limits<int>::max())),
                                                   .admin_token = token});
    grpc->start();
  }
  serve_http::HttpServer http(service, serve_http::HttpServerOptions{.host = host,
                                                                     .port = port,
                                                                     .max_request_bytes = args.max_request_bytes,
                                                                     .admin_token = token});
  http.start();
  for (const serve::ModelInfo& model : service.models())
    std::fprintf(stderr, "sieve serve: %s v%lld (%s, context %lld) from %s\n", model.name.c_str(),
                 static_cast<long long>(model.version), model.precision.c_str(),
                 static_cast<long long>(model.context_length), model.directory.c_str());
  std::fprintf(stderr, "sieve serve: ready on http://%s:%d", host.c_str(), http.port());
  if (grpc) std::fprintf(stderr, " and grpc %s (port %d)", args.grpc.c_str(), grpc->port());
  std::fprintf(stderr, "; max batch %lld\n", static_cast<long long>(args.service.max_batch));

  // Once a second without a signal, gRPC health is brought up to date with models and routes
  // the HTTP admin API may have changed.
  const timespec health_interval{.tv_sec = 1, .tv_nsec = 0};
  for (;;) {
    const int received = sigtimedwait(&signals, nullptr, &health_interval);
    if (received < 0) {
      if (grpc) grpc->publish_health();
      continue;
    }
    if (received != SIGHUP) break;
    const serve::Status status = service.reload_all();
    std::fprintf(stderr, "sieve serve: SIGHUP: %s\n",
                 status.ok() ? "every model reloaded from its directory" : status.message.c_str());
  }
  std::fprintf(stderr, "sieve serve: draining (up to %.0f s)\n", args.drain_seconds);
  const auto drain_time = std::chrono::milliseconds(static_cast<std::int64_t>(args.drain_seconds * 1000.0));
  // gRPC health turns NOT_SERVING at once and gRPC takes no new calls, while the core drains.
  std::thread grpc_stop([&] {
    if (grpc) grpc->shutdown(drain_time);
  });
  service.drain(drain_time);
  grpc_stop.join();
  http.stop();
  std::fprintf(stderr, "sieve serve: stopped\n");
}

}  // namespace

void add_serve_verb(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve models over HTTP (OpenAI-compatible API) and gRPC");
  cmd->add_option("--model", args->models, "NAME=DIR: a model directory to serve under NAME (repeatable)")
      ->required();
  cmd->add_option("--route", args->routes, "NAME=a:90,b:10[,shadow=c]: an A/B split between models (repeatable)");
  cmd->add_option("--http", args->http, "HTTP address HOST:PORT")->capture_default_str();
  cmd->add_option("--grpc", args->grpc,
                  "gRPC address HOST:PORT (sieve.v1.Inference and Admin, health, reflection); off without it");
  cmd->add_option("--admin-token-file", args->admin_token_file,
                  "File with the bearer token the admin API requires (without it the admin API is off)");
  cmd->add_option("--max-batch", args->service.max_batch, "Sequences per batched step (1: no batching)")
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", args->service.max_batch_tokens,
                  "Tokens per batched step; longer prompts are read in chunks")
      ->capture_default_str();
  cmd->add_option("--max-queue", args->service.max_queue, "Requests that may wait; more get 429 / RESOURCE_EXHAUSTED")
      ->capture_default_str();
  cmd->add_option("--max-prompt-tokens", args->service.max_prompt_tokens, "Longest prompt (0: the model's context)")
      ->capture_default_str();
  cmd->add_option("--max-tokens-limit", args->service.max_tokens, "Largest max_tokens a request may ask for")
      ->capture_default_str();
  cmd->add_option("--max-request-bytes", args->max_request_bytes, "Largest request body / message")
      ->capture_default_str();
  cmd->add_option("--threads", args->service.threads, "Compute threads (0: all cores)")->capture_default_str();
  cmd->add_option("--drain-timeout", args->drain_seconds, "Seconds in-flight requests get to finish on SIGTERM")
      ->capture_default_str();
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace sieve::apps
