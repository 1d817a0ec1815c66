#include <gtest/gtest.h>

#include <fstream>

#include "apps/dashboard/runs/run_path.h"
#include "sieve/core/error.h"
#include "temp_dir.h"

namespace sieve::dashboard {
namespace {

TEST(RunPath, NamesAreRelativePathsOfPlainComponents) {
  for (const char* good : {"demo", "search-1/trial-02", "a.b_c-d", "a/b/c", "7"}) EXPECT_TRUE(is_valid_run_name(good)) << good;
  for (const char* bad : {"", "..", ".", "../x", "a/../b", "/etc", "a//b", "a/", ".hidden", "-x", "a b", "a/b/c/d",
                          "a\\b", "a%2Fb", "\xc3\xa9"})
    EXPECT_FALSE(is_valid_run_name(bad)) << bad;
  EXPECT_FALSE(is_valid_run_name(std::string(65, 'a')));
  EXPECT_TRUE(is_valid_run_name(std::string(64, 'a')));
}

TEST(RunPath, ResolvesUnderTheRootOnly) {
  const testing::TempDir root;
  const testing::TempDir outside;
  std::filesystem::create_directories(root / "runs" / "a" / "b");
  const auto runs = std::filesystem::canonical(root / "runs");
  EXPECT_EQ(run_directory(runs, "a/b"), runs / "a" / "b");
  EXPECT_THROW(run_directory(runs, "missing"), RunNotFound);
  EXPECT_THROW(run_directory(runs, "../runs"), core::UserError);
  std::filesystem::create_directory_symlink(outside.path(), runs / "escape");
  EXPECT_THROW(run_directory(runs, "escape"), core::UserError);
  std::filesystem::create_directory_symlink(runs / "a", runs / "alias");
  EXPECT_EQ(run_directory(runs, "alias"), runs / "a");  // a link that stays inside is followed
}

TEST(RunPath, IsWithinComparesWholeComponents) {
  EXPECT_TRUE(is_within("/r/runs", "/r/runs"));
  EXPECT_TRUE(is_within("/r/runs", "/r/runs/a"));
  EXPECT_FALSE(is_within("/r/runs", "/r/runs2/a"));
  EXPECT_FALSE(is_within("/r/runs", "/r"));
}

}  // namespace
}  // namespace sieve::dashboard
