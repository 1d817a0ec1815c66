#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/token_shard.h"

namespace sieve::data {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;

std::vector<std::int32_t> random_tokens(std::size_t count, int vocab, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::int32_t> tokens(count);
  for (auto& t : tokens) t = static_cast<std::int32_t>(rng() % static_cast<unsigned>(vocab));
  return tokens;
}

TEST(TokenShard, RoundTripsSixteenBitTokens) {
  TempDir dir;
  const auto tokens = random_tokens(10000, 65536, 1);
  write_token_shard(dir / "a.bin", tokens, 65536, 2);
  EXPECT_EQ(std::filesystem::file_size(dir / "a.bin"), kTokenShardHeaderBytes + 2 * tokens.size());
  const TokenShard shard = TokenShard::open(dir / "a.bin");
  EXPECT_EQ(shard.size(), 10000);
  EXPECT_EQ(shard.vocab_size(), 65536);
  EXPECT_EQ(shard.separator_id(), 2);
  EXPECT_EQ(shard.token_bytes(), 2);
  EXPECT_EQ(shard.to_vector(), tokens);
  std::vector<std::int64_t> window(100);
  shard.read(500, window);
  for (std::size_t i = 0; i < window.size(); ++i) EXPECT_EQ(window[i], tokens[500 + i]);
  EXPECT_EQ(shard[9999], tokens[9999]);
}

TEST(TokenShard, RoundTripsThirtyTwoBitTokens) {
  TempDir dir;
  const auto tokens = random_tokens(5000, 100000, 2);
  write_token_shard(dir / "b.bin", tokens, 100000, -1);
  const TokenShard shard = TokenShard::open(dir / "b.bin");
  EXPECT_EQ(shard.token_bytes(), 4);
  EXPECT_EQ(shard.separator_id(), -1);
  EXPECT_EQ(shard.to_vector(), tokens);
}

TEST(TokenShard, WriterSeparatesDocumentsAndStreamsLargeInput) {
  TempDir dir;
  TokenShardWriter writer(dir / "docs.bin", 1000, 2);
  std::vector<std::int32_t> expected;
  for (int d = 0; d < 300; ++d) {
    const auto doc = random_tokens(1000 + d, 1000, static_cast<std::uint32_t>(d));
    writer.append_document(doc);
    expected.insert(expected.end(), doc.begin(), doc.end());
    expected.push_back(2);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "docs.bin"));  // not before commit
  writer.commit();
  EXPECT_EQ(writer.document_count(), 300);
  const TokenShard shard = TokenShard::open(dir / "docs.bin");
  EXPECT_EQ(shard.to_vector(), expected);  // > 1 MB: several internal flushes
}

TEST(TokenShard, EmptyShardIsValid) {
  TempDir dir;
  write_token_shard(dir / "e.bin", {}, 10, 2);
  const TokenShard shard = TokenShard::open(dir / "e.bin");
  EXPECT_EQ(shard.size(), 0);
}

TEST(TokenShard, UncommittedWriterLeavesNothingBehind) {
  TempDir dir;
  write_token_shard(dir / "keep.bin", std::vector<std::int32_t>{1, 2, 3}, 10, 2);
  {
    TokenShardWriter writer(dir / "keep.bin", 10, 2);
    writer.append(std::vector<std::int32_t>{4, 5});
  }  // abandoned: e.g. an exception during preparation
  EXPECT_EQ(TokenShard::open(dir / "keep.bin").to_vector(), (std::vector<std::int32_t>{1, 2, 3}));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(TokenShard, MovedShardKeepsTheMapping) {
  TempDir dir;
  write_token_shard(dir / "m.bin", std::vector<std::int32_t>{7, 8, 9}, 10, 2);
  TokenShard a = TokenShard::open(dir / "m.bin");
  TokenShard b = std::move(a);
  EXPECT_EQ(b.to_vector(), (std::vector<std::int32_t>{7, 8, 9}));
  a = std::move(b);
  EXPECT_EQ(a[2], 9);
}

void expect_rejected(const std::filesystem::path& path, std::string_view needle) {
  try {
    TokenShard::open(path);
    FAIL() << "expected a UserError mentioning '" << needle << "'";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TokenShard, RejectsCorruptFiles) {
  TempDir dir;
  write_token_shard(dir / "good.bin", random_tokens(100, 500, 3), 500, 2);
  const std::string good = read_file(dir / "good.bin");

  expect_rejected(dir / "missing.bin", "missing.bin");
  write_file(dir / "tiny.bin", "SIEVETOK");
  expect_rejected(dir / "tiny.bin", "shorter than the 32-byte header");

  std::string bad = good;
  bad[0] = 'X';
  write_file(dir / "magic.bin", bad);
  expect_rejected(dir / "magic.bin", "SIEVETOK");

  bad = good;
  bad[8] = 9;  // version
  write_file(dir / "version.bin", bad);
  expect_rejected(dir / "version.bin", "version 9");

  write_file(dir / "truncated.bin", good.substr(0, good.size() - 1));
  expect_rejected(dir / "truncated.bin", "truncated");
  write_file(dir / "long.bin", good + "xx");
  expect_rejected(dir / "long.bin", "promises 100 tokens");

  bad = good;
  bad[12] = 3;  // bytes per token
  write_file(dir / "width.bin", bad);
  expect_rejected(dir / "width.bin", "bytes per token");

  bad = good;
  const std::uint16_t big = 600;  // >= vocab 500
  std::memcpy(bad.data() + kTokenShardHeaderBytes + 2 * 42, &big, 2);
  write_file(dir / "id.bin", bad);
  expect_rejected(dir / "id.bin", "token 42 is id 600");

  expect_rejected(dir.path(), "not a regular file");
}

}  // namespace
}  // namespace sieve::data
