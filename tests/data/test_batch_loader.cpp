#include <gtest/gtest.h>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/batch_loader.h"

namespace sieve::data {
namespace {

using testing::TempDir;

// Token i has id i % vocab, so every window's contents reveal where it starts.
TokenShard counting_shard(const TempDir& dir, std::int64_t count, int vocab = 50000) {
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<std::int32_t>(i % vocab);
  write_token_shard(dir / "count.bin", tokens, vocab, -1);
  return TokenShard::open(dir / "count.bin");
}

struct Draw {
  std::vector<std::int64_t> inputs, targets;
  bool operator==(const Draw&) const = default;
};

Draw draw(BatchLoader& loader, std::int64_t B, std::int64_t T) {
  Draw d{std::vector<std::int64_t>(B * T), std::vector<std::int64_t>(B * T)};
  loader.next_batch(B, T, d.inputs, d.targets);
  return d;
}

TEST(BatchLoader, RowsAreShardWindowsWithShiftedTargets) {
  TempDir dir;
  BatchLoader loader(counting_shard(dir, 10000), 1);
  const std::int64_t B = 8, T = 16;
  for (int step = 0; step < 20; ++step) {
    const Draw d = draw(loader, B, T);
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t start = d.inputs[b * T];
      ASSERT_LE(start + T, 9999);  // the last target exists
      for (std::int64_t t = 0; t < T; ++t) {
        ASSERT_EQ(d.inputs[b * T + t], start + t);
        ASSERT_EQ(d.targets[b * T + t], start + t + 1);
      }
    }
  }
  EXPECT_EQ(loader.state().batches, 20);
}

TEST(BatchLoader, CoversTheWholeShardIncludingTheLastWindow) {
  TempDir dir;
  BatchLoader loader(counting_shard(dir, 40), 3);
  std::vector<bool> seen(40 - 8, false);  // starts 0..31 for T = 8
  for (int step = 0; step < 200; ++step) {
    const Draw d = draw(loader, 4, 8);
    for (int b = 0; b < 4; ++b) seen[static_cast<std::size_t>(d.inputs[b * 8])] = true;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), false), 0);
}

TEST(BatchLoader, SameSeedSameBatchesOtherSeedOtherBatches) {
  TempDir dir;
  BatchLoader a(counting_shard(dir, 5000), 42);
  BatchLoader b(TokenShard::open(dir / "count.bin"), 42);
  BatchLoader c(TokenShard::open(dir / "count.bin"), 43);
  for (int step = 0; step < 5; ++step) {
    const Draw da = draw(a, 4, 32);
    EXPECT_EQ(da, draw(b, 4, 32));
    EXPECT_NE(da, draw(c, 4, 32));
  }
}

TEST(BatchLoader, RestoredStateReproducesTheSameBatches) {
  TempDir dir;
  BatchLoader loader(counting_shard(dir, 5000), 7);
  for (int step = 0; step < 3; ++step) draw(loader, 4, 32);
  const LoaderState saved = loader.state();
  std::vector<Draw> after;
  for (int step = 0; step < 4; ++step) after.push_back(draw(loader, 4, 32));

  loader.restore(saved);  // same loader, rewound
  for (const auto& expected : after) EXPECT_EQ(draw(loader, 4, 32), expected);

  BatchLoader resumed(TokenShard::open(dir / "count.bin"), 999);  // a restarted run
  resumed.restore(saved);
  EXPECT_EQ(resumed.state(), saved);
  for (const auto& expected : after) EXPECT_EQ(draw(resumed, 4, 32), expected);
}

TEST(BatchLoader, TensorBatchesHaveShapeBT) {
  TempDir dir;
  BatchLoader loader(counting_shard(dir, 1000), 5);
  const Batch batch = loader.next_batch(3, 10);
  EXPECT_EQ(batch.inputs.shape(), (core::Shape{3, 10}));
  EXPECT_EQ(batch.targets.shape(), (core::Shape{3, 10}));
  EXPECT_EQ(batch.inputs.dtype(), core::DType::i64);
  const auto* in = batch.inputs.data<std::int64_t>();
  const auto* out = batch.targets.data<std::int64_t>();
  for (int i = 0; i < 30; ++i) EXPECT_EQ(out[i], in[i] + 1);
}

TEST(BatchLoader, ShardShorterThanTheContextIsAUserError) {
  TempDir dir;
  BatchLoader loader(counting_shard(dir, 16), 1);
  std::vector<std::int64_t> in(16), out(16);
  EXPECT_THROW(loader.next_batch(1, 16, in, out), core::UserError);  // needs 17 tokens
  EXPECT_NO_THROW(loader.next_batch(1, 15, std::span(in).first(15), std::span(out).first(15)));
  EXPECT_THROW(EvalWindows(TokenShard::open(dir / "count.bin"), 16), core::UserError);
}

TEST(EvalWindows, WalksTheShardInSequentialNonOverlappingWindows) {
  TempDir dir;
  const std::int64_t T = 10;
  EvalWindows windows(counting_shard(dir, 105), T);  // (105 - 1) / 10 = 10 windows
  EXPECT_EQ(windows.num_windows(), 10);
  std::vector<std::int64_t> in(4 * T, -1), out(4 * T, -1);
  std::vector<std::int64_t> rows;
  std::int64_t next_start = 0;
  while (const std::int64_t n = windows.next_batch(4, in, out)) {
    rows.push_back(n);
    for (std::int64_t r = 0; r < n; ++r) {
      for (std::int64_t t = 0; t < T; ++t) {
        ASSERT_EQ(in[r * T + t], next_start + t);
        ASSERT_EQ(out[r * T + t], next_start + t + 1);
      }
      next_start += T;
    }
  }
  EXPECT_EQ(rows, (std::vector<std::int64_t>{4, 4, 2}));
  EXPECT_EQ(next_start, 100);

  windows.reset();
  const auto first = windows.next_batch(3);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->inputs.shape(), (core::Shape{3, T}));
  EXPECT_EQ(first->inputs.data<std::int64_t>()[0], 0);

  EvalWindows capped(TokenShard::open(dir / "count.bin"), T, 3);
  EXPECT_EQ(capped.num_windows(), 3);
  EXPECT_EQ(capped.next_batch(8)->inputs.size(0), 3);
  EXPECT_FALSE(capped.next_batch(8).has_value());
}

}  // namespace
}  // namespace sieve::data
