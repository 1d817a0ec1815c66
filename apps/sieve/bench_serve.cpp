// `sieve bench serve`: a load generator for `sieve serve` (or any server speaking its HTTP or
// gRPC API, such as bench/peer_serve.py). Many concurrent clients (closed loop) or Poisson
// arrivals at a target rate (open loop), bounded by a request count and a time limit, against a
// loopback address only; optional hot reloads during the run. Reports QPS, tokens/s, latency
// and time-to-first-token quantiles and errors by code — with --json as exactly one JSON line.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "apps/sieve/bench_serve_client.h"
#include "apps/sieve/bench_serve_load.h"
#include "apps/sieve/bench_serve_reload.h"
#include "apps/sieve/bench_serve_report.h"
#include "apps/sieve/bench_serve_target.h"
#include "apps/sieve/verbs.h"
#include "sieve/core/error.h"

namespace sieve::apps {
namespace {

constexpr int kMaxClients = 1024;

struct ServeBenchArgs {
  std::string http, grpc;  // exactly one: HOST:PORT
  CompletionSettings settings;
  LoadPlan plan;
  int clients = 32;
  std::string prompt = "Once upon a time";
  std::string prompts_file;
  std::vector<double> reload_after_s;
  std::string admin_token_file;
  std::string reload_dir;
  bool json = false;
};

std::vector<std::string> read_prompts(const std::string& file) {
  std::ifstream in(file);
  SIEVE_USER_CHECK(in.good(), "--prompts {}: cannot read the file", file);
  std::vector<std::string> prompts;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) prompts.push_back(line);
  }
  SIEVE_USER_CHECK(!prompts.empty(), "--prompts {}: the file has no prompt (one per line)", file);
  return prompts;
}

std::string read_token(const std::string& file) {
  std::ifstream in(file);
  SIEVE_USER_CHECK(in.good(), "--admin-token-file {}: cannot read the file", file);
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  token.erase(token.begin(), std::find_if_not(token.begin(), token.end(), blank));
  token.erase(std::find_if_not(token.rbegin(), token.rend(), blank).base(), token.end());
  SIEVE_USER_CHECK(!token.empty(), "--admin-token-file {}: the file is empty", file);
  return token;
}

void check_load_flags(const ServeBenchArgs& args) {
  const LoadPlan& plan = args.plan;
  const CompletionSettings& settings = args.settings;
  SIEVE_USER_CHECK(args.clients >= 1 && args.clients <= kMaxClients, "--clients must be in 1..{}, got {}",
                   kMaxClients, args.clients);
  SIEVE_USER_CHECK(plan.requests >= 0, "--requests must be >= 0, got {}", plan.requests);
  SIEVE_USER_CHECK(std::isfinite(plan.duration_s) && plan.duration_s >= 0.0, "--duration-s must be >= 0, got {}",
                   plan.duration_s);
  SIEVE_USER_CHECK(plan.requests > 0 || plan.duration_s > 0.0,
                   "--requests 0 (no count limit) needs --duration-s to bound the run");
  SIEVE_USER_CHECK(std::isfinite(plan.rate) && plan.rate >= 0.0, "--rate must be > 0 requests/s (0: closed loop), got {}", plan.rate);
  SIEVE_USER_CHECK(plan.client_keys >= 0, "--client-keys must be >= 0, got {}", plan.client_keys);
  SIEVE_USER_CHECK(settings.max_tokens >= 1, "--max-tokens must be >= 1, got {}", settings.max_tokens);
  SIEVE_USER_CHECK(std::isfinite(settings.temperature) && settings.temperature >= 0.0,
                   "--temperature must be >= 0, got {}", settings.temperature);
  SIEVE_USER_CHECK(std::isfinite(settings.timeout_s) && settings.timeout_s > 0.0,
                   "--request-timeout-s must be > 0, got {}", settings.timeout_s);
  SIEVE_USER_CHECK(!settings.model.empty(), "--model must name a model or route");
}

// The reloads asked for, or none; checks that the flags come together.
std::optional<ReloadPlan> reload_plan(const ServeBenchArgs& args) {
  if (args.reload_after_s.empty()) {
    SIEVE_USER_CHECK(args.admin_token_file.empty() && args.reload_dir.empty(),
                     "--admin-token-file and --reload-dir go with --admin-reload-after-s");
    return std::nullopt;
  }
  SIEVE_USER_CHECK(!args.admin_token_file.empty() && !args.reload_dir.empty(),
                   "--admin-reload-after-s needs --admin-token-file and --reload-dir");
  ReloadPlan plan;
  plan.at_s = args.reload_after_s;
  for (const double at : plan.at_s)
    SIEVE_USER_CHECK(std::isfinite(at) && at >= 0.0, "--admin-reload-after-s must be >= 0 seconds, got {}", at);
  std::sort(plan.at_s.begin(), plan.at_s.end());
  SIEVE_USER_CHECK(std::filesystem::is_directory(args.reload_dir), "--reload-dir {}: no such directory",
                   args.reload_dir);
  plan.directory = std::filesystem::absolute(args.reload_dir).lexically_normal().string();
  plan.model = args.settings.model;
  plan.token = read_token(args.admin_token_file);
  return plan;
}

void run_serve_bench(ServeBenchArgs args) {
  SIEVE_USER_CHECK(args.http.empty() != args.grpc.empty(), "give exactly one of --http HOST:PORT or --grpc HOST:PORT");
  const ServeTarget target = args.http.empty() ? parse_loopback_target(ServeProtocol::grpc, "--grpc", args.grpc)
                                               : parse_loopback_target(ServeProtocol::http, "--http", args.http);
  check_load_flags(args);
  args.plan.prompts = args.prompts_file.empty() ? std::vector<std::string>{args.prompt} : read_prompts(args.prompts_file);
  const std::optional<ReloadPlan> reloads = reload_plan(args);

  std::vector<std::unique_ptr<ServeClient>> clients;
  for (int c = 0; c < args.clients; ++c) clients.push_back(make_serve_client(target, args.settings));
  const BenchClock::time_point start = BenchClock::now();
  std::optional<Reloader> reloader;
  if (reloads) reloader.emplace(*reloads, make_serve_client(target, args.settings), start);
  const LoadRun run = run_load(args.plan, clients, start);
  const std::vector<ReloadEvent> reload_events = reloader ? reloader->finish() : std::vector<ReloadEvent>{};

  const nlohmann::json report = summarize_serve_run({target, args.settings, args.plan, args.clients}, run, reload_events);
  std::printf("%s\n", args.json ? report.dump().c_str() : format_serve_report(report).c_str());
  std::fflush(stdout);
  SIEVE_USER_CHECK(run.records.empty() || report["ok"].get<std::int64_t>() > 0,
                   "none of the {} requests succeeded; the first error: {}", run.records.size(),
                   report.value("first_error", std::string()));
}

}  // namespace

void add_serve_bench(CLI::App* bench) {
  auto args = std::make_shared<ServeBenchArgs>();
  CLI::App* cmd = bench->add_subcommand(
      "serve", "Load-test a running `sieve serve` (HTTP or gRPC, loopback only): QPS, tokens/s, latency, TTFT");
  cmd->add_option("--http", args->http, "Drive the OpenAI-style HTTP API at HOST:PORT (127.0.0.1, [::1] or localhost)");
  cmd->add_option("--grpc", args->grpc, "Drive the sieve.v1.Inference gRPC API at HOST:PORT (loopback only)");
  cmd->add_option("--model", args->settings.model, "The model or route each request names")->required();
  cmd->add_option("--clients", args->clients,
                  "Concurrent clients: closed loop, each sends its next request when answered; open loop, the most "
                  "requests in flight")
      ->capture_default_str();
  cmd->add_option("--requests", args->plan.requests, "Stop after this many requests (0: no count limit)")
      ->capture_default_str();
  cmd->add_option("--duration-s", args->plan.duration_s,
                  "Stop sending after this many seconds, whichever limit comes first (0: no time limit)")
      ->capture_default_str();
  cmd->add_option("--rate", args->plan.rate,
                  "Open loop: Poisson arrivals at this many requests/s, latency counted from each arrival "
                  "(default: closed loop)");
  cmd->add_option("--max-tokens", args->settings.max_tokens, "New tokens per request at most")->capture_default_str();
  auto* prompt = cmd->add_option("--prompt", args->prompt, "The prompt of every request")->capture_default_str();
  cmd->add_option("--prompts", args->prompts_file, "A file of prompts, one per line, cycled over the requests")
      ->excludes(prompt);
  cmd->add_option("--temperature", args->settings.temperature,
                  "Sampling temperature (0: greedy); request i is sent seed i")
      ->capture_default_str();
  cmd->add_flag("--stream", args->settings.stream,
                "Stream the answers (server-sent events / GenerateStream): time to first token is when the first "
                "chunk with text arrives; without --stream it equals the latency");
  cmd->add_option("--client-keys", args->plan.client_keys,
                  "Spread the requests round-robin over this many sticky routing keys (0: send none)")
      ->capture_default_str();
  cmd->add_option("--request-timeout-s", args->settings.timeout_s, "A request unanswered after this long is an error")
      ->capture_default_str();
  cmd->add_option("--admin-reload-after-s", args->reload_after_s,
                  "Hot-reload the model at these seconds after the start (several values: several reloads); the "
                  "report adds p99 latency before, during and after them")
      ->expected(1, -1);
  cmd->add_option("--admin-token-file", args->admin_token_file, "With --admin-reload-after-s: the admin bearer token");
  cmd->add_option("--reload-dir", args->reload_dir, "With --admin-reload-after-s: the model directory to load");
  cmd->add_flag("--json", args->json, "Print exactly one JSON line");
  cmd->callback([args] { run_serve_bench(*args); });
}

}  // namespace sieve::apps
