#include <gtest/gtest.h>

#include <string>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/array_file.h"
#include "sieve/data/staging_dir.h"

namespace sieve::data {
namespace {

using testing::TempDir;
using testing::read_file;
using testing::write_file;

TEST(ArrayFile, RoundTripsAndChecksDtypeAndRank) {
  TempDir dir;
  const std::vector<std::int32_t> values = {1, -2, 3, -4, 5, -6};
  write_array_file<std::int32_t>(dir / "a.bin", std::vector<std::int64_t>{2, 3}, values);
  const auto back = read_array_file<std::int32_t>(dir / "a.bin", 2);
  EXPECT_EQ(back.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(back.data, values);
  EXPECT_THROW(read_array_file<std::uint8_t>(dir / "a.bin"), core::UserError);
  EXPECT_THROW(read_array_file<std::int32_t>(dir / "a.bin", 1), core::UserError);
}

TEST(ArrayFile, RejectsTruncationBadMagicAndForgedShapes) {
  TempDir dir;
  const std::vector<std::uint8_t> values(100, 7);
  write_array_file<std::uint8_t>(dir / "a.bin", std::vector<std::int64_t>{10, 10}, values);
  const std::string good = read_file(dir / "a.bin");
  write_file(dir / "cut.bin", good.substr(0, good.size() - 1));
  write_file(dir / "magic.bin", "X" + good.substr(1));
  std::string forged = good;
  forged[24 + 7] = '\x7f';  // the first extent becomes ~2^63: caught by the size check, not by allocating
  write_file(dir / "forged.bin", forged);
  for (const char* name : {"cut.bin", "magic.bin", "forged.bin", "missing.bin"}) {
    try {
      read_array_file<std::uint8_t>(dir / name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(StagingDir, PublishesWhenCompleteAndOtherwiseLeavesNothing) {
  TempDir dir;
  {
    StagingDir staging(dir / "out", false);
    write_file(staging.path() / "f", "one");
  }  // abandoned: no "out", no leftovers
  EXPECT_TRUE(dir.entries().empty());
  {
    StagingDir staging(dir / "out", false);
    write_file(staging.path() / "f", "two");
    staging.publish();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out"});
  EXPECT_EQ(read_file(dir / "out" / "f"), "two");
  EXPECT_THROW(StagingDir(dir / "out", false), core::UserError);  // not empty, no replace
  {
    StagingDir staging(dir / "out", true);
    write_file(staging.path() / "g", "three");
    staging.publish();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out"});
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "f"));
  EXPECT_EQ(read_file(dir / "out" / "g"), "three");
  write_file(dir / "file", "x");
  EXPECT_THROW(StagingDir(dir / "file", true), core::UserError);
}

}  // namespace
}  // namespace sieve::data
