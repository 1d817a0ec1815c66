// Hot reloads during a `sieve bench serve` run: at given times after the start, one more client
// asks the server to load a model directory as the new version of the model under load, so the
// report can show what a reload costs the requests around it.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apps/sieve/bench_common.h"
#include "apps/sieve/bench_serve_client.h"

namespace sieve::apps {

struct ReloadPlan {
  std::vector<double> at_s;  // seconds after the start, ascending
  std::string model;
  std::string directory;  // absolute: the server resolves it, not this process
  std::string token;      // the admin bearer token
};

struct ReloadEvent {
  BenchClock::time_point begin, end;  // the admin call
  std::string error;                  // empty: the new version serves
};

class Reloader {
 public:
  // Starts the reloads' thread; `client` is used by it alone.
  Reloader(ReloadPlan plan, std::unique_ptr<ServeClient> client, BenchClock::time_point start);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Drops the reloads not yet begun, waits for one in progress, and returns those made.
  std::vector<ReloadEvent> finish();

 private:
  void run();

  const ReloadPlan plan_;
  const std::unique_ptr<ServeClient> client_;
  const BenchClock::time_point start_;
  std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stop_ = false;
  std::vector<ReloadEvent> events_;
  std::thread thread_;
};

}  // namespace sieve::apps
