// The generated retrieval tasks: rows have the promised layout, the scored targets and answers
// are exactly the task's, and bad options are user errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "sieve/core/error.h"
#include "sieve/data/retrieval_tasks.h"

namespace sieve::data {
namespace {

constexpr std::int64_t kDigits = 5;

// The passkey row's full token sequence (inputs plus the last target).
std::vector<std::int64_t> sequence(const RetrievalRow& row) {
  std::vector<std::int64_t> tokens = row.inputs;
  // Ignored targets hide tokens; the inputs shifted by one recover every one but the last.
  tokens.push_back(row.targets.back());
  return tokens;
}

// Start of the digits run that equals `digits`, searching from the front (the needle).
std::int64_t find_digits(const std::vector<std::int64_t>& tokens, const std::vector<std::int64_t>& digits) {
  const auto it = std::search(tokens.begin(), tokens.end(), digits.begin(), digits.end());
  return it == tokens.end() ? -1 : static_cast<std::int64_t>(it - tokens.begin());
}

TEST(PasskeyTask, TheAnswerIsTheHiddenNumberAndOnlyItsDigitsAreUnscored) {
  const PasskeyTask task({.context = 300, .digits = kDigits});
  core::Rng rng(5);
  for (int i = 0; i < 20; ++i) {
    const RetrievalRow row = task.sample(rng);
    ASSERT_EQ(row.inputs.size(), 300u);
    ASSERT_EQ(row.targets.size(), 300u);
    ASSERT_EQ(row.answers.size(), static_cast<std::size_t>(kDigits));
    const std::vector<std::int64_t> tokens = sequence(row);
    for (std::int64_t t : tokens) ASSERT_TRUE(t > 0 && t < task.vocab_size()) << t;
    // The answers are the last five targets, and the same digits sit earlier in the needle.
    std::vector<std::int64_t> answer;
    for (std::size_t k = 0; k < row.answers.size(); ++k) {
      EXPECT_EQ(row.answers[k], 300 - kDigits + static_cast<std::int64_t>(k));
      answer.push_back(row.targets[static_cast<std::size_t>(row.answers[k])]);
    }
    const std::int64_t needle = find_digits(row.inputs, answer);
    ASSERT_GE(needle, 0);
    ASSERT_LT(needle, 300 - kDigits - 10);
    // Exactly the needle's digit targets are unscored.
    for (std::int64_t t = 0; t < 300; ++t) {
      const bool needle_digit_target = t + 1 >= needle && t + 1 < needle + kDigits;
      EXPECT_EQ(row.targets[static_cast<std::size_t>(t)] == kIgnoreTarget, needle_digit_target) << t;
      if (!needle_digit_target) {
        EXPECT_EQ(row.targets[static_cast<std::size_t>(t)], tokens[static_cast<std::size_t>(t + 1)]);
      }
    }
  }
}

TEST(PasskeyTask, EachDigitTokenNamesItsPlace) {
  const PasskeyTask task({.context = 200, .digits = kDigits});
  const std::int64_t first_digit = task.vocab_size() - 10 * kDigits;  // digit tokens come last
  core::Rng rng(11);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    const RetrievalRow row = task.sample(rng);
    for (std::size_t k = 0; k < row.answers.size(); ++k) {
      const std::int64_t token = row.targets[static_cast<std::size_t>(row.answers[k])];
      EXPECT_EQ((token - first_digit) / 10, static_cast<std::int64_t>(k)) << token;
      seen.insert(token);
    }
  }
  EXPECT_GT(seen.size(), 40u) << "50 rows should use most of the 50 place-digit tokens";
}

TEST(PasskeyTask, DepthPlacesTheNeedle) {
  const PasskeyTask task({.context = 1000});
  core::Rng rng(1);
  std::int64_t previous = -1;
  for (int tenth = 0; tenth <= 10; ++tenth) {
    const RetrievalRow row = task.sample(tenth / 10.0, rng);
    std::vector<std::int64_t> answer;
    for (std::int64_t t : row.answers) answer.push_back(row.targets[static_cast<std::size_t>(t)]);
    const std::int64_t needle = find_digits(row.inputs, answer);
    EXPECT_GT(needle, previous);
    previous = needle;
    // The needle starts at depth × filler length, plus the four words before its digits.
    const double filler = 1001.0 - 13.0 - 15.0;  // needle 13 tokens, ending 15
    EXPECT_NEAR(static_cast<double>(needle), tenth / 10.0 * filler + 4.0, 1.0);
    EXPECT_DOUBLE_EQ(row.depth, tenth / 10.0);
  }
}

TEST(PasskeyTask, EvaluationRowsCoverEveryDepthAndAreReproducible) {
  const PasskeyTask task({.context = 128});
  core::Rng a(9), b(9);
  const auto rows = task.evaluation_rows(3, a);
  ASSERT_EQ(rows.size(), 33u);
  std::map<double, int> per_depth;
  for (const auto& row : rows) ++per_depth[row.depth];
  EXPECT_EQ(per_depth.size(), 11u);
  for (const auto& [depth, count] : per_depth) EXPECT_EQ(count, 3) << depth;
  const auto again = task.evaluation_rows(3, b);
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].inputs, again[i].inputs);
}

TEST(AssociativeRecallTask, EveryQueryAsksForTheValueItsKeyWasGiven) {
  const AssociativeRecallOptions options{.context = 512, .pairs = 16, .keys = 64, .values = 64, .noise = 8,
                                         .query_start = 0.5};
  const AssociativeRecallTask task(options);
  EXPECT_EQ(task.vocab_size(), 1 + 64 + 64 + 8);
  core::Rng rng(3);
  std::vector<RetrievalRow> rows = task.evaluation_rows(10, rng);
  for (int i = 0; i < 10; ++i) rows.push_back(task.sample(rng));
  std::int64_t earliest_training_query = 512;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RetrievalRow& row = rows[i];
    const bool test_row = i < 10;
    ASSERT_EQ(row.inputs.size(), 512u);
    ASSERT_EQ(row.answers.size(), 16u);
    std::map<std::int64_t, std::int64_t> value_of;  // the pairs at the start
    for (std::int64_t p = 0; p < 16; ++p) {
      const std::int64_t key = row.inputs[static_cast<std::size_t>(2 * p)];
      const std::int64_t value = row.inputs[static_cast<std::size_t>(2 * p + 1)];
      ASSERT_TRUE(key >= 1 && key <= 64) << key;
      ASSERT_TRUE(value > 64 && value <= 128) << value;
      EXPECT_TRUE(value_of.emplace(key, value).second) << "keys must be distinct";
    }
    std::set<std::int64_t> queried;
    for (std::int64_t t : row.answers) {
      // Test queries are all in the second half; training ones anywhere after the pairs.
      EXPECT_GE(t, test_row ? 256 : 32);
      if (!test_row) earliest_training_query = std::min(earliest_training_query, t);
      const std::int64_t key = row.inputs[static_cast<std::size_t>(t)];
      ASSERT_EQ(value_of.count(key), 1u) << "query " << t << " is not a given key";
      EXPECT_EQ(row.targets[static_cast<std::size_t>(t)], value_of[key]);
      if (t + 1 < 512) {
        EXPECT_EQ(row.inputs[static_cast<std::size_t>(t + 1)], value_of[key]);
      }
      queried.insert(key);
    }
    EXPECT_EQ(queried.size(), 16u) << "each pair is queried once";
    // Only the answers are scored; between queries there is only noise.
    const std::set<std::int64_t> answers(row.answers.begin(), row.answers.end());
    for (std::int64_t t = 0; t < 512; ++t) {
      EXPECT_EQ(row.targets[static_cast<std::size_t>(t)] != kIgnoreTarget, answers.count(t) == 1) << t;
      const std::int64_t token = row.inputs[static_cast<std::size_t>(t)];
      const bool in_query = answers.count(t) == 1 || answers.count(t - 1) == 1;
      if (t >= 32 && !in_query) {
        EXPECT_GT(token, 128) << "position " << t << " should be noise";
      }
    }
  }
  EXPECT_LT(earliest_training_query, 256) << "training rows should also ask within the first half";
}

TEST(RetrievalTasks, BadOptionsAndNamesAreUserErrors) {
  EXPECT_THROW(PasskeyTask({.context = 20}), core::UserError);
  EXPECT_THROW(PasskeyTask({.context = 256, .digits = 0}), core::UserError);
  EXPECT_THROW(AssociativeRecallTask({.context = 100, .pairs = 40}), core::UserError);
  EXPECT_THROW(AssociativeRecallTask({.context = 1024, .pairs = 300, .keys = 256}), core::UserError);
  EXPECT_THROW(AssociativeRecallTask({.context = 1024, .query_start = 1.0}), core::UserError);
  EXPECT_THROW(make_retrieval_task("needle", 1024), core::UserError);
  EXPECT_EQ(make_retrieval_task("passkey", 512)->context(), 512);
  EXPECT_EQ(make_retrieval_task("mqar", 512)->context(), 512);
}

TEST(RetrievalTasks, BatchesStackRows) {
  const AssociativeRecallTask task({.context = 256});
  core::Rng rng(2);
  const std::vector<RetrievalRow> rows = {task.sample(rng), task.sample(rng)};
  const RetrievalBatch batch = to_batch(rows);
  ASSERT_EQ(batch.inputs.shape(), (core::Shape{2, 256}));
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t t = 0; t < 256; ++t) {
      EXPECT_EQ(batch.inputs.data<std::int64_t>()[b * 256 + t], rows[static_cast<std::size_t>(b)].inputs[static_cast<std::size_t>(t)]);
      EXPECT_EQ(batch.targets.data<std::int64_t>()[b * 256 + t], rows[static_cast<std::size_t>(b)].targets[static_cast<std::size_t>(t)]);
    }
}

}  // namespace
}  // namespace sieve::data
