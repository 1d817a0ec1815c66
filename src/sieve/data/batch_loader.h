// Batches for language-model training and evaluation, read from a memory-mapped token shard.
//
// Shapes: B batch rows, T tokens per row. Inputs and targets are int64 [B, T], row-major;
// targets are the inputs shifted left by one token (target[b][t] = token after input[b][t]).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "sieve/core/rng.h"
#include "sieve/core/tensor.h"
#include "sieve/data/token_shard.h"

namespace sieve::data {

struct Batch {
  core::Tensor inputs;   // i64 [B, T]
  core::Tensor targets;  // i64 [B, T]
};

// Everything needed to continue the exact batch sequence after a restart: put it in the
// checkpoint, restore() it on resume.
struct LoaderState {
  core::Rng::State rng{};
  std::int64_t batches = 0;  // batches drawn so far (informational)
  bool operator==(const LoaderState&) const = default;
};

// Training batches: each row is a window starting at a uniformly random position (windows may
// cross document separators, as in GPT-style training). The sequence is a pure function of
// the seed and the number of batches drawn.
class BatchLoader {
 public:
  BatchLoader(TokenShard shard, std::uint64_t seed);

  // Fills `inputs` and `targets` (each B*T values). Throws core::UserError if the shard is too
  // short for T (it needs at least T + 1 tokens).
  void next_batch(std::int64_t B, std::int64_t T, std::span<std::int64_t> inputs,
                  std::span<std::int64_t> targets);
  Batch next_batch(std::int64_t B, std::int64_t T);

  LoaderState state() const { return {rng_.state(), batches_}; }
  void restore(const LoaderState& state);

  const TokenShard& shard() const { return shard_; }

 private:
  TokenShard shard_;
  core::Rng rng_;
  std::int64_t batches_ = 0;
};

// Evaluation over a whole shard (or its first max_windows windows) in sequential,
// non-overlapping windows: window w covers inputs [w*T, w*T + T) and targets one further. Every
// predicted token is counted once, so perplexity over it is deterministic.
class EvalWindows {
 public:
  // max_windows = 0: all (size - 1) / T windows. Throws core::UserError if the shard holds
  // fewer than T + 1 tokens.
  EvalWindows(TokenShard shard, std::int64_t T, std::int64_t max_windows = 0);

  std::int64_t num_windows() const { return windows_; }
  std::int64_t context() const { return T_; }

  // Fills up to B rows with the next windows and returns how many were filled (0 when every
  // window has been served). `inputs`/`targets` hold B*T values; rows past the return value
  // are left as they were.
  std::int64_t next_batch(std::int64_t B, std::span<std::int64_t> inputs,
                          std::span<std::int64_t> targets);
  // The same as tensors [rows, T]; nullopt when done.
  std::optional<Batch> next_batch(std::int64_t B);

  void reset() { next_window_ = 0; }
  const TokenShard& shard() const { return shard_; }

 private:
  TokenShard shard_;
  std::int64_t T_;
  std::int64_t windows_;
  std::int64_t next_window_ = 0;
};

}  // namespace sieve::data
