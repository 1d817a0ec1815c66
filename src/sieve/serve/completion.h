// One text-completion request and the handle both sides of it share: the protocol adapter
// (which submitted it and reads its text) and the scheduler (which makes the text). The handle
// is thread-safe; the adapter may block in next() while the scheduler pushes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sieve/serve/status.h"

namespace sieve::serve {

using Clock = std::chrono::steady_clock;

struct CompletionRequest {
  std::string model;  // a model or route name
  std::string prompt;
  std::int64_t max_tokens = 16;
  float temperature = 1.0f;  // 0 = greedy
  float top_p = 1.0f;
  std::int64_t top_k = 0;
  std::optional<std::uint64_t> seed;  // none: a random seed
  std::vector<std::string> stop;      // strings that end the text (not included in it)
  std::string client_key;             // sticky routing key; empty: a random variant
  std::optional<Clock::time_point> deadline;
};

// Why a completion ended: "stop" (EOS or a stop string) and "length" are OpenAI's names; an
// ended-by-error completion has a non-ok status instead.
enum class FinishReason { none, stop, length };
const char* finish_reason_name(FinishReason reason);  // "", "stop", "length"

struct CompletionUsage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

// What next() returns: the text made since the previous call, and whether the completion ended
// (then `finish_reason` or a non-ok `status`, and the final usage).
struct CompletionChunk {
  std::string text;
  bool done = false;
  FinishReason finish_reason = FinishReason::none;
  Status status;
  CompletionUsage usage;
};

class Completion {
 public:
  Completion(std::string id, std::string model, std::int64_t version, std::int64_t prompt_tokens);

  const std::string& id() const { return id_; }  // "cmpl-<hex>"
  const std::string& model() const { return model_; }  // the model that answers (a route's variant)
  std::int64_t version() const { return version_; }
  std::int64_t created_unix() const { return created_unix_; }

  // Waits up to `timeout` for new text or the end; returns what is new (possibly nothing).
  CompletionChunk next(std::chrono::milliseconds timeout);
  // Waits for the end; returns the whole text.
  CompletionChunk wait();
  // The client is gone (disconnect, deadline): the scheduler drops the sequence and frees its
  // cache at its next step; the completion ends with `status`.
  void cancel(Status status = Status::error(Code::cancelled, "the client cancelled the request"));

  // --- the scheduler's side
  bool cancelled() const;
  Status cancel_status() const;  // what cancel() was given
  void push_text(const std::string& text, std::int64_t completion_tokens);
  void finish(FinishReason reason);
  void fail(Status status);

 private:
  const std::string id_, model_;
  const std::int64_t version_;
  const std::int64_t created_unix_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string pending_;  // text not yet returned by next()
  CompletionUsage usage_;
  bool done_ = false;
  bool cancel_requested_ = false;
  FinishReason finish_reason_ = FinishReason::none;
  Status status_;
};

}  // namespace sieve::serve
