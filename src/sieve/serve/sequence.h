// One request's life in the scheduler: its prompt fed in chunks, then one token per step, each
// sampled token turned into text (held back at a possible stop string) and pushed to the
// request's Completion. Owns its KV cache, freed with it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sieve/data/tokenizer.h"
#include "sieve/nn/sampler.h"
#include "sieve/serve/completion.h"
#include "sieve/serve/metrics.h"
#include "sieve/serve/model_version.h"
#include "sieve/serve/stop_matcher.h"

namespace sieve::serve {

// What the service hands the scheduler for one request.
struct SequenceRequest {
  std::shared_ptr<const ModelVersion> version;
  std::shared_ptr<Completion> completion;
  std::vector<std::int64_t> prompt;  // non-empty, shorter than the context
  std::int64_t max_new_tokens = 0;   // >= 1, fits the context after the prompt
  nn::SamplingOptions sampling;
  std::vector<std::string> stop;
  std::optional<Clock::time_point> deadline;
  std::string route;  // for the metrics
  bool shadow = false;
  Clock::time_point submitted = Clock::now();
};

class Sequence {
 public:
  explicit Sequence(SequenceRequest request);

  const ModelVersion& version() const { return *request_.version; }
  nn::KvCache* cache() { return &cache_; }
  std::int64_t cache_bytes() const;
  // The tokens to run this step, at most `budget`: the next chunk of the prompt, or the token
  // sampled last.
  std::span<const std::int64_t> next_input(std::int64_t budget) const;
  // Whether the prompt is in (each step now runs one token).
  bool decoding() const { return fed_ == static_cast<std::int64_t>(request_.prompt.size()); }
  // After a step ran `count` tokens of next_input(): whether their last logits make a token.
  bool advance(std::int64_t count);
  // Samples from the logits row, streams the text, and finishes when the request is done.
  void accept(std::span<const float> logits);

  // Ends the sequence early: the client's cancellation, a passed deadline, or a failed step.
  // Returns true when it ended now (false while it still runs).
  bool end_if_abandoned(Clock::time_point now);
  void fail(Status status);
  // Asks the sequence to end with `status` at the next step (thread-safe).
  void cancel(const Status& status) { request_.completion->cancel(status); }
  bool finished() const { return finished_; }

  // How the request ended, for its variant's metrics.
  const std::string& route() const { return request_.route; }
  CompletionOutcome outcome() const;

 private:
  void finish(FinishReason reason);

  SequenceRequest request_;
  nn::KvCache cache_;
  nn::Sampler sampler_;
  data::StreamingDecoder decoder_;
  StopMatcher stop_matcher_;
  std::int64_t fed_ = 0;         // prompt tokens run so far
  std::int64_t last_token_ = -1;  // the token to run next once the prompt is in
  std::int64_t produced_ = 0;
  bool finished_ = false;
  Code end_code_ = Code::ok;
  std::optional<Clock::time_point> first_token_at_;
  Clock::time_point ended_at_;
};

}  // namespace sieve::serve
