// `sieve dashboard`'s HTTP server (cpp-httplib, as `sieve serve`): the web app at / and the JSON
// API under /api (docs/dashboard.md) over the runs of one directory. Reading needs nothing;
// launching, stopping and searching need the bearer token drawn at start.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sieve::dashboard {

struct DashboardOptions {
  std::filesystem::path runs;          // the runs directory (must exist)
  std::string host = "127.0.0.1";
  int port = 8787;                     // 0: pick a free port (see DashboardServer::port)
  std::filesystem::path results;       // bench/results.jsonl: the tables view (missing: none)
  std::filesystem::path sieve_binary;  // what launched runs execute
  int cores = 0;                       // training processes at once (0: the machine's cores)
  int threads_per_run = 0;             // threads each launched run uses (0: the cores shared out)
  std::vector<std::string> serve_urls;  // `sieve serve` instances to watch ("http://HOST:PORT")
};

class DashboardServer {
 public:
  // Throws core::UserError for a missing runs directory.
  explicit DashboardServer(DashboardOptions options);
  // Stops serving, then the training processes it started (SIGTERM: each checkpoints first, and
  // a later dashboard's Resume continues it).
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // Binds and serves on threads of its own. Throws core::UserError when it cannot bind.
  void start();
  int port() const;
  // The write token; the app's address with it is url().
  const std::string& token() const;
  std::string url() const;
  // Stops serving (the training processes go on until destruction). Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sieve::dashboard
