// Continuous batching: one thread runs batched forward steps over every active sequence. Each
// step packs, per model version, the decode token of every sequence past its prompt and chunks
// of prompts still being read (within the step's token budget) into one forward
// (LlamaForCausalLM::next_token_logits_packed); new requests join at the next step and finished
// ones leave, freeing their caches. The thread is the only one that computes, so OpenMP's
// workers never compete with each other; protocol threads only queue and wait.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sieve/serve/metrics.h"
#include "sieve/serve/sequence.h"

namespace sieve::serve {

struct SchedulerLimits {
  std::int64_t max_batch = 32;          // active sequences
  std::int64_t max_batch_tokens = 512;  // tokens per step
  std::int64_t max_queue = 256;         // waiting requests
  int threads = 0;                      // OpenMP threads of the scheduler thread (0: all cores)
};

class Scheduler {
 public:
  Scheduler(SchedulerLimits limits, ServiceMetrics& metrics);
  ~Scheduler();  // cancels what is left and joins the thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request for the next step; resource_exhausted when the queue is full.
  Status enqueue(SequenceRequest request);
  // Runs `job` on the scheduler thread between two steps and waits for it; its exception is
  // rethrown here. For work that must not compete with the steps for the cores.
  void run_between_steps(const std::function<void()>& job);
  // Requests queued or running.
  std::int64_t in_flight() const;
  // Ends every queued and running request with `status` at the next step.
  void cancel_all(const Status& status);
  SchedulerGauges gauges() const;

 private:
  void loop();
  void admit();                   // moves queued requests into the batch, up to max_batch
  void drop_abandoned();          // cancelled or past their deadline
  void step();                    // one batched forward per model version with active sequences
  void run_group(std::vector<Sequence*>& group, std::int64_t& budget);
  void retire_finished();         // records the finished ones' metrics and frees them
  bool has_work() const;          // under mutex_

  const SchedulerLimits limits_;
  ServiceMetrics& metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<SequenceRequest> queue_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Sequence>> active_;  // the scheduler thread's own
  std::atomic<std::int64_t> active_count_{0}, kv_cache_bytes_{0};
  std::atomic<std::int64_t> steps_{0}, step_tokens_{0}, step_sequences_{0};
  std::thread thread_;
};

}  // namespace sieve::serve
