// The load loop of `sieve bench serve`. Closed loop: each client sends its next request as soon
// as its previous one is answered. Open loop: requests arrive at random (Poisson) times at a
// target rate whatever the server's pace, and wait for a free client; their latency counts from
// the arrival, so a server that falls behind shows it (no coordinated omission). Either way the
// run stops at a request count or a time limit, whichever comes first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/sieve/bench_common.h"
#include "apps/sieve/bench_serve_client.h"

namespace sieve::apps {

struct LoadPlan {
  std::int64_t requests = 128;  // 0: no count limit (duration_s bounds the run)
  double duration_s = 0.0;      // 0: no time limit; requests in flight then are still awaited
  double rate = 0.0;            // > 0: open loop at this many requests per second; 0: closed loop
  std::vector<std::string> prompts;  // request i sends prompts[i % size]
  std::int64_t client_keys = 0;      // > 0: request i carries the sticky key "client-<i % client_keys>"
};

struct RequestRecord {
  BenchClock::time_point due;  // when it was sent (closed loop) or arrived (open loop)
  CompletionOutcome outcome;
};

struct LoadRun {
  BenchClock::time_point start, end;   // end: when the last answer came
  std::vector<RequestRecord> records;  // every request sent, in no particular order
  std::int64_t unsent = 0;             // open loop: arrivals still waiting for a client at the time limit
};

// Runs `plan` with one thread per client (their number is the concurrency), from `start` on.
LoadRun run_load(const LoadPlan& plan, std::vector<std::unique_ptr<ServeClient>>& clients,
                 BenchClock::time_point start);

}  // namespace sieve::apps
