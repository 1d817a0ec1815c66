#include "sieve/data/retrieval_tasks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/ranges.h>
#include <string_view>

#include "sieve/core/error.h"

namespace sieve::data {
namespace {

// The passkey task's words; a token id is an index into this list. Digits come last.
constexpr std::array<std::string_view, 22> kPasskeyWords = {
    "<pad>", "the", "grass", "is",    "green", ".",        "sky", "blue", "sun",  "yellow", "here",
    "we",    "go",  "there", "and",   "back",  "again",    "pass", "key", "remember", "it", "what"};
constexpr std::int64_t kQuestionMark = kPasskeyWords.size();  // "?"
// Digits are tokenized with their place: token kFirstDigit + 10·k + d is digit d at place k.
constexpr std::int64_t kFirstDigit = kQuestionMark + 1;

constexpr std::int64_t word(std::string_view w) {
  for (std::size_t i = 0; i < kPasskeyWords.size(); ++i)
    if (kPasskeyWords[i] == w) return static_cast<std::int64_t>(i);
  return -1;
}

// "the grass is green . the sky is blue . the sun is yellow . here we go . there and back again ."
const std::vector<std::int64_t>& filler_cycle() {
  static const std::vector<std::int64_t> cycle = [] {
    std::vector<std::int64_t> ids;
    for (std::string_view w : {"the", "grass", "is", "green", ".", "the", "sky", "is", "blue", ".", "the", "sun", "is",
                               "yellow", ".", "here", "we", "go", ".", "there", "and", "back", "again", "."})
      ids.push_back(word(w));
    return ids;
  }();
  return cycle;
}

constexpr std::int64_t kMinPasskeyContext = 64;

}  // namespace

PasskeyTask::PasskeyTask(PasskeyOptions options) : options_(options) {
  SIEVE_USER_CHECK(options_.digits >= 1 && options_.digits <= 18, "passkey digits must be in [1, 18], got {}",
                   options_.digits);
  SIEVE_USER_CHECK(options_.context >= kMinPasskeyContext, "the passkey task needs a context of at least {} tokens, got {}",
                   kMinPasskeyContext, options_.context);
}

std::int64_t PasskeyTask::vocab_size() const { return kFirstDigit + 10 * options_.digits; }

RetrievalRow PasskeyTask::sample(double depth, core::Rng& rng) const {
  SIEVE_CHECK(depth >= 0.0 && depth <= 1.0, "passkey depth {} outside [0, 1]", depth);
  const std::int64_t n = options_.context + 1;  // inputs and the one target past them
  std::vector<std::int64_t> digits(static_cast<std::size_t>(options_.digits));
  for (std::int64_t k = 0; k < options_.digits; ++k)
    digits[static_cast<std::size_t>(k)] = kFirstDigit + 10 * k + static_cast<std::int64_t>(rng.below(10));

  // the pass key is D… . remember it .
  std::vector<std::int64_t> needle = {word("the"), word("pass"), word("key"), word("is")};
  const std::int64_t needle_digits_at = static_cast<std::int64_t>(needle.size());
  needle.insert(needle.end(), digits.begin(), digits.end());
  needle.insert(needle.end(), {word("."), word("remember"), word("it"), word(".")});
  // what is the pass key ? the pass key is D…
  std::vector<std::int64_t> ending = {word("what"), word("is"),  word("the"), word("pass"), word("key"),
                                      kQuestionMark,  word("the"), word("pass"), word("key"), word("is")};
  ending.insert(ending.end(), digits.begin(), digits.end());

  const std::int64_t filler = n - static_cast<std::int64_t>(needle.size() + ending.size());
  const auto before = static_cast<std::int64_t>(std::llround(depth * static_cast<double>(filler)));
  const std::vector<std::int64_t>& cycle = filler_cycle();
  std::size_t next = static_cast<std::size_t>(rng.below(cycle.size()));
  std::vector<std::int64_t> tokens;
  tokens.reserve(static_cast<std::size_t>(n));
  auto add_filler = [&](std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i, next = (next + 1) % cycle.size()) tokens.push_back(cycle[next]);
  };
  add_filler(before);
  const std::int64_t needle_start = static_cast<std::int64_t>(tokens.size());
  tokens.insert(tokens.end(), needle.begin(), needle.end());
  add_filler(filler - before);
  tokens.insert(tokens.end(), ending.begin(), ending.end());
  SIEVE_CHECK(static_cast<std::int64_t>(tokens.size()) == n, "passkey row has {} tokens, expected {}", tokens.size(), n);

  RetrievalRow row;
  row.depth = depth;
  row.inputs.assign(tokens.begin(), tokens.end() - 1);
  row.targets.assign(tokens.begin() + 1, tokens.end());
  // Nothing predicts the needle's digits: their targets are not scored.
  for (std::int64_t i = 0; i < options_.digits; ++i)
    row.targets[static_cast<std::size_t>(needle_start + needle_digits_at + i - 1)] = kIgnoreTarget;
  for (std::int64_t i = 0; i < options_.digits; ++i) row.answers.push_back(n - 1 - options_.digits + i);
  return row;
}

std::vector<RetrievalRow> PasskeyTask::evaluation_rows(std::int64_t per_depth, core::Rng& rng) const {
  std::vector<RetrievalRow> rows;
  for (int tenth = 0; tenth <= 10; ++tenth)
    for (std::int64_t i = 0; i < per_depth; ++i) rows.push_back(sample(tenth / 10.0, rng));
  return rows;
}

AssociativeRecallTask::AssociativeRecallTask(AssociativeRecallOptions options) : options_(options) {
  const AssociativeRecallOptions& o = options_;
  SIEVE_USER_CHECK(o.pairs >= 1 && o.pairs <= o.keys, "mqar: pairs must be in [1, keys = {}], got {}", o.keys, o.pairs);
  SIEVE_USER_CHECK(o.values >= 2 && o.noise >= 1, "mqar: need at least 2 values and 1 noise token");
  SIEVE_USER_CHECK(o.query_start >= 0.0 && o.query_start < 1.0, "mqar: query_start must be in [0, 1), got {}",
                   o.query_start);
  SIEVE_USER_CHECK((o.context + 1 - test_first_query()) / 2 >= o.pairs,
                   "mqar: a context of {} tokens cannot hold {} pairs and their {} queries after position {}", o.context,
                   o.pairs, o.pairs, test_first_query());
}

std::int64_t AssociativeRecallTask::test_first_query() const {
  const AssociativeRecallOptions& o = options_;
  return std::max<std::int64_t>(2 * o.pairs,
                                static_cast<std::int64_t>(std::ceil(o.query_start * static_cast<double>(o.context))));
}

std::int64_t AssociativeRecallTask::vocab_size() const {
  return 1 + options_.keys + options_.values + options_.noise;  // id 0 is unused padding
}

RetrievalRow AssociativeRecallTask::sample(core::Rng& rng) const { return sample(2 * options_.pairs, rng); }

RetrievalRow AssociativeRecallTask::sample(std::int64_t first, core::Rng& rng) const {
  const AssociativeRecallOptions& o = options_;
  const std::int64_t n = o.context + 1;
  const std::int64_t key_id = 1, value_id = 1 + o.keys, noise_id = 1 + o.keys + o.values;
  auto draw = [&](std::int64_t bound) { return static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(bound))); };

  // P distinct keys (a partial Fisher–Yates shuffle) and their values.
  std::vector<std::int64_t> keys(static_cast<std::size_t>(o.keys));
  for (std::int64_t i = 0; i < o.keys; ++i) keys[static_cast<std::size_t>(i)] = i;
  for (std::int64_t i = 0; i < o.pairs; ++i) std::swap(keys[static_cast<std::size_t>(i)], keys[static_cast<std::size_t>(i + draw(o.keys - i))]);
  std::vector<std::int64_t> values(static_cast<std::size_t>(o.pairs));
  for (auto& v : values) v = draw(o.values);

  std::vector<std::int64_t> tokens(static_cast<std::size_t>(n));
  for (auto& t : tokens) t = noise_id + draw(o.noise);
  for (std::int64_t p = 0; p < o.pairs; ++p) {
    tokens[static_cast<std::size_t>(2 * p)] = key_id + keys[static_cast<std::size_t>(p)];
    tokens[static_cast<std::size_t>(2 * p + 1)] = value_id + values[static_cast<std::size_t>(p)];
  }
  // Queries take P distinct two-token slots from `first` on, in a random order of the pairs.
  const std::int64_t slots = (n - first) / 2;
  std::vector<std::int64_t> slot(static_cast<std::size_t>(slots));
  for (std::int64_t i = 0; i < slots; ++i) slot[static_cast<std::size_t>(i)] = i;
  for (std::int64_t i = 0; i < o.pairs; ++i) std::swap(slot[static_cast<std::size_t>(i)], slot[static_cast<std::size_t>(i + draw(slots - i))]);

  RetrievalRow row;
  row.inputs.assign(tokens.begin(), tokens.end() - 1);
  row.targets.assign(static_cast<std::size_t>(o.context), kIgnoreTarget);
  for (std::int64_t p = 0; p < o.pairs; ++p) {
    const std::int64_t at = first + 2 * slot[static_cast<std::size_t>(p)];
    const std::int64_t value = value_id + values[static_cast<std::size_t>(p)];
    row.inputs[static_cast<std::size_t>(at)] = key_id + keys[static_cast<std::size_t>(p)];
    if (at + 1 < o.context) row.inputs[static_cast<std::size_t>(at + 1)] = value;
    row.targets[static_cast<std::size_t>(at)] = value;
    row.answers.push_back(at);
  }
  std::sort(row.answers.begin(), row.answers.end());
  return row;
}

std::vector<RetrievalRow> AssociativeRecallTask::evaluation_rows(std::int64_t count, core::Rng& rng) const {
  std::vector<RetrievalRow> rows;
  for (std::int64_t i = 0; i < count; ++i) rows.push_back(sample(test_first_query(), rng));
  return rows;
}

RetrievalBatch to_batch(const std::vector<RetrievalRow>& rows) {
  SIEVE_CHECK(!rows.empty(), "to_batch: no rows");
  const auto batch = static_cast<std::int64_t>(rows.size());
  const auto tokens = static_cast<std::int64_t>(rows.front().inputs.size());
  RetrievalBatch out{core::Tensor::empty({batch, tokens}, core::DType::i64),
                     core::Tensor::empty({batch, tokens}, core::DType::i64)};
  for (std::int64_t b = 0; b < batch; ++b) {
    const RetrievalRow& row = rows[static_cast<std::size_t>(b)];
    SIEVE_CHECK(static_cast<std::int64_t>(row.inputs.size()) == tokens && row.targets.size() == row.inputs.size(),
                "to_batch: rows of different lengths");
    std::copy(row.inputs.begin(), row.inputs.end(), out.inputs.data<std::int64_t>() + b * tokens);
    std::copy(row.targets.begin(), row.targets.end(), out.targets.data<std::int64_t>() + b * tokens);
  }
  return out;
}

std::vector<std::string> retrieval_task_names() { return {"passkey", "mqar"}; }

std::unique_ptr<RetrievalTask> make_retrieval_task(const std::string& name, std::int64_t context) {
  if (name == "passkey") return std::make_unique<PasskeyTask>(PasskeyOptions{.context = context});
  if (name == "mqar") return std::make_unique<AssociativeRecallTask>(AssociativeRecallOptions{.context = context});
  core::throw_user_error("unknown retrieval task '{}' (known: {})", name, fmt::join(retrieval_task_names(), ", "));
}

}  // namespace sieve::data
