#include "sieve/data/batch_loader.h"

#include <algorithm>
#include <utility>

#include "sieve/core/error.h"

namespace sieve::data {
namespace {

void check_context(const TokenShard& shard, std::int64_t T) {
  SIEVE_USER_CHECK(T > 0, "context length {} must be positive", T);
  SIEVE_USER_CHECK(shard.size() > T,
                   "token shard '{}' holds {} tokens, too few for context length {} (needs at "
                   "least {}); use a shorter context or more data",
                   shard.path().string(), shard.size(), T, T + 1);
}

// inputs[0, T) = tokens [start, start + T); targets = tokens [start + 1, start + T + 1).
void fill_row(const TokenShard& shard, std::int64_t start, std::int64_t T, std::int64_t* inputs,
              std::int64_t* targets) {
  shard.read(start, std::span<std::int64_t>(inputs, static_cast<std::size_t>(T)));
  std::copy(inputs + 1, inputs + T, targets);
  targets[T - 1] = shard[start + T];
}

void check_buffers(std::int64_t B, std::int64_t T, std::span<std::int64_t> inputs,
                   std::span<std::int64_t> targets) {
  SIEVE_CHECK(B > 0, "batch size {} must be positive", B);
  SIEVE_CHECK(static_cast<std::int64_t>(inputs.size()) == B * T &&
                  static_cast<std::int64_t>(targets.size()) == B * T,
              "batch buffers hold {} and {} values, expected B*T = {}", inputs.size(),
              targets.size(), B * T);
}

}  // namespace

BatchLoader::BatchLoader(TokenShard shard, std::uint64_t seed)
    : shard_(std::move(shard)), rng_(seed) {}

void BatchLoader::next_batch(std::int64_t B, std::int64_t T, std::span<std::int64_t> inputs,
                             std::span<std::int64_t> targets) {
  check_context(shard_, T);
  check_buffers(B, T, inputs, targets);
  // Starts in [0, size - T - 1] so the last target exists.
  const auto starts = static_cast<std::uint64_t>(shard_.size() - T);
  for (std::int64_t b = 0; b < B; ++b) {
    const auto start = static_cast<std::int64_t>(rng_.below(starts));
    fill_row(shard_, start, T, inputs.data() + b * T, targets.data() + b * T);
  }
  ++batches_;
}

Batch BatchLoader::next_batch(std::int64_t B, std::int64_t T) {
  Batch batch{core::Tensor::empty({B, T}, core::DType::i64),
              core::Tensor::empty({B, T}, core::DType::i64)};
  const auto n = static_cast<std::size_t>(B * T);
  next_batch(B, T, std::span<std::int64_t>(batch.inputs.data<std::int64_t>(), n),
             std::span<std::int64_t>(batch.targets.data<std::int64_t>(), n));
  return batch;
}

void BatchLoader::restore(const LoaderState& state) {
  rng_.set_state(state.rng);
  batches_ = state.batches;
}

EvalWindows::EvalWindows(TokenShard shard, std::int64_t T, std::int64_t max_windows)
    : shard_(std::move(shard)), T_(T) {
  check_context(shard_, T_);
  SIEVE_USER_CHECK(max_windows >= 0, "evaluation window limit {} must be >= 0", max_windows);
  windows_ = (shard_.size() - 1) / T_;
  if (max_windows > 0) windows_ = std::min(windows_, max_windows);
}

std::int64_t EvalWindows::next_batch(std::int64_t B, std::span<std::int64_t> inputs,
                                     std::span<std::int64_t> targets) {
  check_buffers(B, T_, inputs, targets);
  const std::int64_t rows = std::min(B, windows_ - next_window_);
  for (std::int64_t b = 0; b < rows; ++b) {
    fill_row(shard_, (next_window_ + b) * T_, T_, inputs.data() + b * T_,
             targets.data() + b * T_);
  }
  next_window_ += rows;
  return rows;
}

std::optional<Batch> EvalWindows::next_batch(std::int64_t B) {
  const std::int64_t rows = std::min(B, windows_ - next_window_);
  if (rows <= 0) return std::nullopt;
  Batch batch{core::Tensor::empty({rows, T_}, core::DType::i64),
              core::Tensor::empty({rows, T_}, core::DType::i64)};
  const auto n = static_cast<std::size_t>(rows * T_);
  next_batch(rows, std::span<std::int64_t>(batch.inputs.data<std::int64_t>(), n),
             std::span<std::int64_t>(batch.targets.data<std::int64_t>(), n));
  return batch;
}

}  // namespace sieve::data
