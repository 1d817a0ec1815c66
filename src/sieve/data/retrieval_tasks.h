// Long-context retrieval tasks, generated locally (no downloads): the quality tests of sparse
// attention (docs/sparse-attention.md). Each task has its own small vocabulary of token ids, so
// no tokenizer is involved, and produces training rows whose targets are scored only where the
// task says (other targets are kIgnoreTarget).
//
//   passkey   filler text with a random 5-digit number hidden at a chosen depth; the sequence
//             ends by asking for it, and the answer is the number's digits.
//   mqar      multi-query associative recall: key–value pairs at the start, then, among noise
//             tokens, the keys again, each of which must be followed by its value.
//
// Letters: B rows, T tokens per row.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sieve/core/rng.h"
#include "sieve/core/tensor.h"

namespace sieve::data {

// A target that the loss skips; the same value as ops::kIgnoreIndex.
inline constexpr std::int64_t kIgnoreTarget = -100;

// One row: T inputs and T targets (targets[t] = the token after inputs[t], or kIgnoreTarget).
// answers are the positions t whose targets are the task's answer tokens — what accuracy is
// measured on (a subset of the scored positions).
struct RetrievalRow {
  std::vector<std::int64_t> inputs;
  std::vector<std::int64_t> targets;
  std::vector<std::int64_t> answers;
  double depth = 0.0;  // passkey: where the number sits, 0 = start of the filler, 1 = end
};

class RetrievalTask {
 public:
  virtual ~RetrievalTask() = default;
  virtual std::int64_t vocab_size() const = 0;
  virtual std::int64_t context() const = 0;
  // A training row.
  virtual RetrievalRow sample(core::Rng& rng) const = 0;
  // A test set; `size` is the task's unit (rows per depth for passkey, rows for mqar).
  virtual std::vector<RetrievalRow> evaluation_rows(std::int64_t size, core::Rng& rng) const = 0;
};

struct PasskeyOptions {
  std::int64_t context = 1024;  // T
  std::int64_t digits = 5;
};

// The classic passkey test (Mohtashami & Jaggi, 2023): the filler repeats "the grass is green .
// the sky is blue . the sun is yellow . here we go . there and back again ."; the needle says
// "the pass key is D D D D D . remember it ."; the row ends "what is the pass key ? the pass key
// is D D D D D". Every target is scored except the needle's own digits (which nothing predicts).
// Each digit is one token that also names its place (the second digit's 7 is not the first
// digit's 7), so answering is one lookup — "the place-k digit of the needle" — rather than an
// induction circuit (find the previous occurrence, copy what followed), which a small model
// trained from scratch needs far more rows to form (docs/sparse-attention.md).
class PasskeyTask : public RetrievalTask {
 public:
  explicit PasskeyTask(PasskeyOptions options);
  std::int64_t vocab_size() const override;
  std::int64_t context() const override { return options_.context; }
  // depth in [0, 1]: where the needle goes within the filler.
  RetrievalRow sample(double depth, core::Rng& rng) const;
  // A uniformly random depth.
  RetrievalRow sample(core::Rng& rng) const override { return sample(rng.uniform(), rng); }
  // `per_depth` rows at each depth 0, 0.1, …, 1.
  std::vector<RetrievalRow> evaluation_rows(std::int64_t per_depth, core::Rng& rng) const override;

 private:
  PasskeyOptions options_;
};

struct AssociativeRecallOptions {
  std::int64_t context = 1024;  // T
  std::int64_t pairs = 16;      // key–value pairs at the start; each is queried once
  // Key vocabulary; pairs draw distinct keys. keys = pairs (every row uses every key, in a
  // random order) is what a 0.4 M-parameter model learns in minutes here; with 64 keys it stalls
  // near 25% for thousands of steps (docs/sparse-attention.md).
  std::int64_t keys = 16;
  std::int64_t values = 64;     // value vocabulary
  std::int64_t noise = 64;      // noise vocabulary between the queries
  // Test rows put their queries at random positions in [query_start · T, T): with 0.5 every query
  // is at least T/2 − 2·pairs tokens after its pair, out of reach of a window shorter than that.
  // Training rows put them anywhere after the pairs, so near and far recall are both learned.
  double query_start = 0.5;
};

// Multi-query associative recall (Arora et al., 2023, "Zoology"): inputs
// k1 v1 k2 v2 … kP vP, then noise with the P keys re-appearing in random order, each followed by
// its value. Scored targets (and answers): the values after the re-appearing keys. sample() gives
// training rows, evaluation_rows() test rows (see query_start).
class AssociativeRecallTask : public RetrievalTask {
 public:
  explicit AssociativeRecallTask(AssociativeRecallOptions options);
  std::int64_t vocab_size() const override;
  std::int64_t context() const override { return options_.context; }
  RetrievalRow sample(core::Rng& rng) const override;
  // `count` random test rows.
  std::vector<RetrievalRow> evaluation_rows(std::int64_t count, core::Rng& rng) const override;

 private:
  RetrievalRow sample(std::int64_t first_query, core::Rng& rng) const;
  std::int64_t test_first_query() const;

  AssociativeRecallOptions options_;
};

// Tensors for a list of rows: inputs and targets i64 [B, T].
struct RetrievalBatch {
  core::Tensor inputs;
  core::Tensor targets;
};
RetrievalBatch to_batch(const std::vector<RetrievalRow>& rows);

// "passkey" or "mqar" at context T with the defaults above; UserError for another name or a
// context too short for the task.
std::unique_ptr<RetrievalTask> make_retrieval_task(const std::string& name, std::int64_t context);
std::vector<std::string> retrieval_task_names();

}  // namespace sieve::data
