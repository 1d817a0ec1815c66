// `sieve dashboard`: the web dashboard over a directory of runs — watch, compare, launch and
// search runs, and the advisor (docs/dashboard.md). Serves until SIGINT / SIGTERM, then stops
// the training processes it started (they checkpoint first).
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/dashboard/server/dashboard_server.h"
#include "apps/sieve/listen_address.h"
#include "apps/sieve/verbs.h"
#include "sieve/core/error.h"

namespace sieve::apps {
namespace {

struct DashboardArgs {
  std::string runs;
  std::string listen = "127.0.0.1:8787";
  std::string results = "bench/results.jsonl";
  int cores = 0;
  int threads_per_run = 0;
  std::vector<std::string> serve_urls;
};

std::filesystem::path this_executable() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  SIEVE_USER_CHECK(!error, "cannot find the sieve executable (/proc/self/exe): {}", error.message());
  return self;
}

void run_dashboard(const DashboardArgs& args) {
  const auto [host, port] = parse_listen_address(args.listen, "--listen", "sieve dashboard");
  SIEVE_USER_CHECK(args.cores >= 0, "--cores must be >= 0, got {}", args.cores);
  SIEVE_USER_CHECK(args.threads_per_run >= 0, "--threads-per-run must be >= 0, got {}", args.threads_per_run);
  // Only the main thread's sigwait sees the stop signals; every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (const int s : {SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  dashboard::DashboardServer server({.runs = args.runs,
                                     .host = host,
                                     .port = port,
                                     .results = args.results,
                                     .sieve_binary = this_executable(),
                                     .cores = args.cores,
                                     .threads_per_run = args.threads_per_run,
                                     .serve_urls = args.serve_urls});
  server.start();
  std::printf("sieve dashboard: %s\n", server.url().c_str());
  std::printf("sieve dashboard: write token %s (launching and stopping runs)\n", server.token().c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  std::fprintf(stderr, "sieve dashboard: stopping\n");
  server.stop();
}

}  // namespace

void add_dashboard_verb(CLI::App& app) {
  auto args = std::make_shared<DashboardArgs>();
  CLI::App* cmd = app.add_subcommand("dashboard", "Web dashboard: watch, compare, launch and tune the runs of a directory");
  cmd->add_option("--runs", args->runs, "Directory of runs (each a folder with metrics.jsonl); launched runs go here")
      ->required();
  cmd->add_option("--listen", args->listen, "Address HOST:PORT (port 0: a free one; the URL printed says which)")
      ->capture_default_str();
  cmd->add_option("--results", args->results, "Benchmark results (JSON lines) for the tables view")->capture_default_str();
  cmd->add_option("--cores", args->cores, "Training processes at once (0: the machine's cores)")->capture_default_str();
  cmd->add_option("--threads-per-run", args->threads_per_run,
                  "Threads each launched run uses (0: the cores shared among the runs at the time)")
      ->capture_default_str();
  cmd->add_option("--serve", args->serve_urls,
                  "A `sieve serve` instance to watch, http://HOST:PORT (repeatable): its /metrics in the Serving view");
  cmd->callback([args] { run_dashboard(*args); });
}

}  // namespace sieve::apps
