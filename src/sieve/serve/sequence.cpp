#include "sieve/serve/sequence.h"

#include <algorithm>

namespace sieve::serve {
namespace {

double milliseconds(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

Sequence::Sequence(SequenceRequest request)
    : request_(std::move(request)),
      cache_(request_.version->model->make_cache(
          1, static_cast<std::int64_t>(request_.prompt.size()) + request_.max_new_tokens)),
      sampler_(request_.sampling),
      decoder_(request_.version->tokenizer),
      stop_matcher_(request_.stop) {
  // The continuation decodes in the prompt's context (a first new piece keeps its space).
  const std::vector<std::int32_t> prompt(request_.prompt.begin(), request_.prompt.end());
  decoder_.push(prompt);
}

std::int64_t Sequence::cache_bytes() const {
  const nn::LlamaConfig& config = request_.version->model->config();
  std::int64_t kv_heads = 0;  // over all layers: a pruned model's differ
  for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) kv_heads += config.kv_heads(layer);
  return 2 * cache_.layers.front().capacity() * kv_heads * config.head_dim() * static_cast<std::int64_t>(sizeof(float));
}

std::span<const std::int64_t> Sequence::next_input(std::int64_t budget) const {
  const auto prompt_length = static_cast<std::int64_t>(request_.prompt.size());
  if (fed_ < prompt_length)
    return {request_.prompt.data() + fed_, static_cast<std::size_t>(std::min(budget, prompt_length - fed_))};
  return {&last_token_, 1};
}

bool Sequence::advance(std::int64_t count) {
  const auto prompt_length = static_cast<std::int64_t>(request_.prompt.size());
  if (fed_ < prompt_length) fed_ += count;
  return fed_ == prompt_length;
}

void Sequence::accept(std::span<const float> logits) {
  const std::int64_t token = sampler_.sample(logits);
  ++produced_;
  if (!first_token_at_) first_token_at_ = Clock::now();
  if (token == request_.version->tokenizer.eos_id()) {
    request_.completion->push_text(stop_matcher_.push(decoder_.finish()) + stop_matcher_.finish(), produced_);
    finish(FinishReason::stop);
    return;
  }
  const std::string text = stop_matcher_.push(decoder_.push(static_cast<std::int32_t>(token)));
  if (stop_matcher_.stopped()) {
    request_.completion->push_text(text, produced_);
    finish(FinishReason::stop);
  } else if (produced_ >= request_.max_new_tokens) {
    request_.completion->push_text(text + stop_matcher_.push(decoder_.finish()) + stop_matcher_.finish(), produced_);
    finish(stop_matcher_.stopped() ? FinishReason::stop : FinishReason::length);
  } else {
    if (!text.empty()) request_.completion->push_text(text, produced_);
    last_token_ = token;
  }
}

bool Sequence::end_if_abandoned(Clock::time_point now) {
  if (finished_) return false;
  if (request_.completion->cancelled()) {
    fail(request_.completion->cancel_status());
    return true;
  }
  if (request_.deadline && now >= *request_.deadline) {
    fail(Status::error(Code::deadline_exceeded, "the request's deadline passed before it finished"));
    return true;
  }
  return false;
}

void Sequence::fail(Status status) {
  if (finished_) return;
  finished_ = true;
  end_code_ = status.code;
  ended_at_ = Clock::now();
  request_.completion->fail(std::move(status));
}

void Sequence::finish(FinishReason reason) {
  finished_ = true;
  ended_at_ = Clock::now();
  request_.completion->finish(reason);
}

CompletionOutcome Sequence::outcome() const {
  CompletionOutcome outcome;
  outcome.code = end_code_;
  outcome.latency_ms = milliseconds(ended_at_ - request_.submitted);
  if (first_token_at_) {
    outcome.ttft_ms = milliseconds(*first_token_at_ - request_.submitted);
    outcome.decode_seconds = std::chrono::duration<double>(ended_at_ - *first_token_at_).count();
  }
  outcome.completion_tokens = produced_;
  outcome.shadow = request_.shadow;
  return outcome;
}

}  // namespace sieve::serve
