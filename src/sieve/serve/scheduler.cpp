#include "sieve/serve/scheduler.h"

#include <algorithm>
#include <exception>
#include <future>
#include <map>

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"

namespace sieve::serve {

Scheduler::Scheduler(SchedulerLimits limits, ServiceMetrics& metrics)
    : limits_(limits), metrics_(metrics), thread_([this] { loop(); }) {}

Scheduler::~Scheduler() {
  cancel_all(Status::error(Code::unavailable, "the server is shutting down"));
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Status Scheduler::enqueue(SequenceRequest request) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Status::error(Code::unavailable, "the server is shutting down");
    if (static_cast<std::int64_t>(queue_.size()) >= limits_.max_queue)
      return Status::error(Code::resource_exhausted,
                           fmt::format("the server is at capacity ({} requests waiting); retry later", queue_.size()));
    queue_.push_back(std::move(request));
  }
  wake_.notify_all();
  return {};
}

void Scheduler::run_between_steps(const std::function<void()>& job) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  {
    std::lock_guard lock(mutex_);
    SIEVE_CHECK(!stopping_, "the scheduler has stopped");
    jobs_.push_back([job, done] {
      try {
        job();
        done->set_value();
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
  }
  wake_.notify_all();
  finished.get();
}

std::int64_t Scheduler::in_flight() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(queue_.size()) + active_count_.load();
}

void Scheduler::cancel_all(const Status& status) {
  std::lock_guard lock(mutex_);
  for (const SequenceRequest& request : queue_) request.completion->cancel(status);
  // Running sequences see their completion's cancellation at the next step.
  for (const auto& sequence : active_) sequence->cancel(status);
}

SchedulerGauges Scheduler::gauges() const {
  SchedulerGauges gauges;
  {
    std::lock_guard lock(mutex_);
    gauges.queued = static_cast<std::int64_t>(queue_.size());
  }
  gauges.active = active_count_.load();
  gauges.kv_cache_bytes = kv_cache_bytes_.load();
  gauges.steps = steps_.load();
  gauges.step_tokens = step_tokens_.load();
  gauges.step_sequences = step_sequences_.load();
  return gauges;
}

bool Scheduler::has_work() const { return stopping_ || !queue_.empty() || !jobs_.empty() || !active_.empty(); }

void Scheduler::loop() {
  if (limits_.threads > 0) core::set_num_threads(limits_.threads);
  autograd::NoGradGuard no_grad;
  for (;;) {
    std::deque<std::function<void()>> jobs;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return has_work(); });
      if (stopping_ && queue_.empty() && active_.empty() && jobs_.empty()) return;
      jobs.swap(jobs_);
    }
    for (auto& job : jobs) job();
    admit();
    drop_abandoned();
    step();
    retire_finished();
  }
}

void Scheduler::admit() {
  // Under the lock throughout, so cancel_all sees every request either queued or active.
  std::lock_guard lock(mutex_);
  while (!queue_.empty() && static_cast<std::int64_t>(active_.size()) < limits_.max_batch) {
    const std::shared_ptr<Completion> completion = queue_.front().completion;
    try {
      auto sequence = std::make_unique<Sequence>(std::move(queue_.front()));
      kv_cache_bytes_ += sequence->cache_bytes();
      active_.push_back(std::move(sequence));
    } catch (const std::exception& error) {  // e.g. no memory for its cache
      completion->fail(Status::error(Code::internal, fmt::format("the request could not start: {}", error.what())));
    }
    queue_.pop_front();
  }
  active_count_ = static_cast<std::int64_t>(active_.size());
}

void Scheduler::drop_abandoned() {
  const Clock::time_point now = Clock::now();
  for (const auto& sequence : active_) sequence->end_if_abandoned(now);
  // A queued request that was cancelled or timed out leaves without ever taking a slot.
  std::vector<SequenceRequest> dropped;
  {
    std::lock_guard lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      const bool late = it->deadline && now >= *it->deadline;
      if (it->completion->cancelled() || late) {
        dropped.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (SequenceRequest& request : dropped) {
    Status status = request.completion->cancelled()
                        ? request.completion->cancel_status()
                        : Status::error(Code::deadline_exceeded, "the request's deadline passed while it waited");
    CompletionOutcome outcome;
    outcome.code = status.code;
    outcome.latency_ms = std::chrono::duration<double, std::milli>(now - request.submitted).count();
    outcome.shadow = request.shadow;
    request.completion->fail(std::move(status));
    metrics_.record(request.route, request.version->info.name, outcome);
  }
}

void Scheduler::step() {
  // Sequences grouped by the model version they run on: one forward per version.
  std::map<const ModelVersion*, std::vector<Sequence*>> groups;
  for (const auto& sequence : active_)
    if (!sequence->finished()) groups[&sequence->version()].push_back(sequence.get());
  std::int64_t budget = limits_.max_batch_tokens;
  for (auto& [version, group] : groups) run_group(group, budget);
}

void Scheduler::run_group(std::vector<Sequence*>& group, std::int64_t& budget) {
  // Decode tokens first (one each, so running requests keep their pace), then prompt chunks.
  std::stable_partition(group.begin(), group.end(),
                        [](const Sequence* s) { return s->decoding(); });
  std::vector<std::int64_t> ids, lengths;
  std::vector<Sequence*> members;
  std::vector<nn::KvCache*> caches;
  for (Sequence* sequence : group) {
    if (budget <= 0) break;
    const std::span<const std::int64_t> input = sequence->next_input(budget);
    ids.insert(ids.end(), input.begin(), input.end());
    lengths.push_back(static_cast<std::int64_t>(input.size()));
    members.push_back(sequence);
    caches.push_back(sequence->cache());
    budget -= static_cast<std::int64_t>(input.size());
  }
  if (members.empty()) return;
  const ModelVersion& version = members.front()->version();
  try {
    const auto total = static_cast<std::int64_t>(ids.size());
    const core::Tensor logits =
        version.model->next_token_logits_packed(core::Tensor::from_vector(ids, {1, total}), lengths, caches)
            .contiguous();  // [S, V]
    const std::int64_t vocab = logits.size(1);
    for (std::size_t i = 0; i < members.size(); ++i)
      if (members[i]->advance(lengths[i]))
        members[i]->accept({logits.data<float>() + static_cast<std::int64_t>(i) * vocab, static_cast<std::size_t>(vocab)});
    ++steps_;
    step_tokens_ += total;
    step_sequences_ += static_cast<std::int64_t>(members.size());
  } catch (const std::exception& error) {
    for (Sequence* sequence : members)
      sequence->fail(Status::error(Code::internal, fmt::format("the model '{}' failed a step: {}",
                                                               version.info.name, error.what())));
  }
}

void Scheduler::retire_finished() {
  std::vector<std::unique_ptr<Sequence>> finished;
  {
    std::lock_guard lock(mutex_);
    for (auto& sequence : active_)
      if (sequence->finished()) finished.push_back(std::move(sequence));
    std::erase(active_, nullptr);
    active_count_ = static_cast<std::int64_t>(active_.size());
  }
  for (const auto& sequence : finished) {
    kv_cache_bytes_ -= sequence->cache_bytes();
    metrics_.record(sequence->route(), sequence->version().info.name, sequence->outcome());
  }
}

}  // namespace sieve::serve
