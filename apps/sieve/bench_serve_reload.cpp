#include "apps/sieve/bench_serve_reload.h"

namespace sieve::apps {

Reloader::Reloader(ReloadPlan plan, std::unique_ptr<ServeClient> client, BenchClock::time_point start)
    : plan_(std::move(plan)), client_(std::move(client)), start_(start), thread_([this] { run(); }) {}

Reloader::~Reloader() { finish(); }

void Reloader::run() {
  for (const double at_s : plan_.at_s) {
    const auto due = start_ + std::chrono::duration_cast<BenchClock::duration>(std::chrono::duration<double>(at_s));
    {
      std::unique_lock lock(mutex_);
      if (stop_requested_.wait_until(lock, due, [this] { return stop_; })) return;
    }
    ReloadEvent event;
    event.begin = BenchClock::now();
    event.error = client_->load_model(plan_.model, plan_.directory, plan_.token);
    event.end = BenchClock::now();
    const std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
}

std::vector<ReloadEvent> Reloader::finish() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_requested_.notify_all();
  if (thread_.joinable()) thread_.join();
  return events_;
}

}  // namespace sieve::apps
