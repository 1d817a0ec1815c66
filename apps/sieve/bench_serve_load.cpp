#include "apps/sieve/bench_serve_load.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace sieve::apps {
namespace {

CompletionCall call_for(const LoadPlan& plan, std::int64_t index) {
  CompletionCall call;
  call.prompt = plan.prompts[static_cast<std::size_t>(index) % plan.prompts.size()];
  if (plan.client_keys > 0) call.client_key = "client-" + std::to_string(index % plan.client_keys);
  call.seed = static_cast<std::uint64_t>(index);  // reproducible sampling when temperature > 0
  return call;
}

std::optional<BenchClock::time_point> deadline_of(const LoadPlan& plan, BenchClock::time_point start) {
  if (plan.duration_s <= 0.0) return std::nullopt;
  return start + std::chrono::duration_cast<BenchClock::duration>(std::chrono::duration<double>(plan.duration_s));
}

// Runs `work(client, records)` on one thread per client and gathers their records.
template <typename Work>
std::vector<RequestRecord> on_every_client(std::vector<std::unique_ptr<ServeClient>>& clients, Work work) {
  std::vector<std::vector<RequestRecord>> per_client(clients.size());
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients.size(); ++c)
    threads.emplace_back([&, c] { work(*clients[c], per_client[c]); });
  for (std::thread& t : threads) t.join();
  std::vector<RequestRecord> records;
  for (auto& part : per_client) records.insert(records.end(), part.begin(), part.end());
  return records;
}

void run_closed_loop(const LoadPlan& plan, std::vector<std::unique_ptr<ServeClient>>& clients, LoadRun& run) {
  const auto deadline = deadline_of(plan, run.start);
  std::atomic<std::int64_t> next{0};
  run.records = on_every_client(clients, [&](ServeClient& client, std::vector<RequestRecord>& records) {
    for (;;) {
      const BenchClock::time_point due = BenchClock::now();
      if (deadline && due >= *deadline) return;
      const std::int64_t index = next.fetch_add(1);
      if (plan.requests > 0 && index >= plan.requests) return;
      records.push_back({due, client.complete(call_for(plan, index))});
    }
  });
}

// Arrivals waiting for a free client.
struct ArrivalQueue {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::pair<std::int64_t, BenchClock::time_point>> waiting;  // request index, arrival
  bool closed = false;  // no more arrivals
};

void run_open_loop(const LoadPlan& plan, std::vector<std::unique_ptr<ServeClient>>& clients, LoadRun& run) {
  const auto deadline = deadline_of(plan, run.start);
  ArrivalQueue queue;
  std::atomic<std::int64_t> unsent{0};
  std::thread arrivals([&] {
    std::mt19937_64 rng(1);  // the same arrival times every run
    std::exponential_distribution<double> gap_s(plan.rate);
    BenchClock::time_point at = run.start;
    for (std::int64_t index = 0; plan.requests == 0 || index < plan.requests; ++index) {
      at += std::chrono::duration_cast<BenchClock::duration>(std::chrono::duration<double>(gap_s(rng)));
      if (deadline && at >= *deadline) break;
      std::this_thread::sleep_until(at);
      const std::lock_guard lock(queue.mutex);
      queue.waiting.emplace_back(index, at);
      queue.changed.notify_one();
    }
    const std::lock_guard lock(queue.mutex);
    queue.closed = true;
    queue.changed.notify_all();
  });
  run.records = on_every_client(clients, [&](ServeClient& client, std::vector<RequestRecord>& records) {
    for (;;) {
      std::unique_lock lock(queue.mutex);
      queue.changed.wait(lock, [&] { return queue.closed || !queue.waiting.empty(); });
      if (queue.waiting.empty()) return;
      const auto [index, arrival] = queue.waiting.front();
      queue.waiting.pop_front();
      lock.unlock();
      if (deadline && BenchClock::now() >= *deadline) {
        unsent.fetch_add(1);
        continue;
      }
      records.push_back({arrival, client.complete(call_for(plan, index))});
    }
  });
  arrivals.join();
  run.unsent = unsent.load();
}

}  // namespace

LoadRun run_load(const LoadPlan& plan, std::vector<std::unique_ptr<ServeClient>>& clients,
                 BenchClock::time_point start) {
  LoadRun run;
  run.start = start;
  if (plan.rate > 0.0)
    run_open_loop(plan, clients, run);
  else
    run_closed_loop(plan, clients, run);
  run.end = BenchClock::now();
  return run;
}

}  // namespace sieve::apps
