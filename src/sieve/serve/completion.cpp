#include "sieve/serve/completion.h"

#include <chrono>

namespace sieve::serve {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::none: return "";
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
  }
  return "";
}

Completion::Completion(std::string id, std::string model, std::int64_t version, std::int64_t prompt_tokens)
    : id_(std::move(id)),
      model_(std::move(model)),
      version_(version),
      created_unix_(std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()) {
  usage_.prompt_tokens = prompt_tokens;
}

CompletionChunk Completion::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return done_ || !pending_.empty(); });
  CompletionChunk chunk;
  chunk.text = std::move(pending_);
  pending_.clear();
  chunk.done = done_;
  chunk.finish_reason = finish_reason_;
  chunk.status = status_;
  chunk.usage = usage_;
  return chunk;
}

CompletionChunk Completion::wait() {
  std::string text;
  for (;;) {
    CompletionChunk chunk = next(std::chrono::milliseconds(1000));
    text += chunk.text;
    if (chunk.done) {
      chunk.text = std::move(text);
      return chunk;
    }
  }
}

void Completion::cancel(Status status) {
  std::lock_guard lock(mutex_);
  if (done_ || cancel_requested_) return;
  cancel_requested_ = true;
  status_ = std::move(status);
}

bool Completion::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancel_requested_;
}

Status Completion::cancel_status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void Completion::push_text(const std::string& text, std::int64_t completion_tokens) {
  {
    std::lock_guard lock(mutex_);
    pending_ += text;
    usage_.completion_tokens = completion_tokens;
  }
  changed_.notify_all();
}

void Completion::finish(FinishReason reason) {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
    finish_reason_ = reason;
  }
  changed_.notify_all();
}

void Completion::fail(Status status) {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
    status_ = std::move(status);
  }
  changed_.notify_all();
}

}  // namespace sieve::serve
