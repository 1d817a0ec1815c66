// `sieve data`: list; `build trifashion` (the `tiny` size: `small` speaks some 6,000 clips, most of a
// minute) into a temporary directory, with its refusals (a non-empty --out without --force, an
// unknown size, missing source files); and `check trifashion` on a good and a damaged directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "run_sieve.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using sieve::testing::run_sieve;

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The words joined by spaces: one command line.
std::string join(std::initializer_list<std::string> words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

bool sources_installed() {
  return fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") &&
         fs::exists("/usr/share/wordnet/index.noun");
}

TEST(DataCli, HelpAndList) {
  auto result = run_sieve("data build trifashion --help");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  for (const char* flag : {"--out", "--size", "--seed", "--fashion-dir", "--wordnet-dir", "--force", "tiny|small|full"})
    EXPECT_TRUE(contains(result.output, flag)) << flag << "\n" << result.output;
  result = run_sieve("data list");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "trifashion")) << result.output;
}

TEST(DataCli, BuildsTrifashionAndRefusesToOverwriteWithoutForce) {
  if (!sources_installed()) GTEST_SKIP() << "dataset-fashion-mnist or wordnet-base is not installed";
  sieve::testing::TempDir dir;
  const std::string out = (dir / "tf").string();
  auto result = run_sieve(join({"data build trifashion --size tiny --seed 3 --out", out}));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "scenes                 200 train, 100 test")) << result.output;
  EXPECT_TRUE(contains(result.output, "spoken clips")) << result.output;
  EXPECT_TRUE(fs::exists(dir / "tf" / "audio" / "log_mel.bin"));
  EXPECT_TRUE(fs::exists(dir / "tf" / "manifest.json"));
  EXPECT_TRUE(fs::exists(dir / "tf" / "utterances.jsonl"));
  const auto manifest_time = fs::last_write_time(dir / "tf" / "manifest.json");
  result = run_sieve(join({"data check trifashion", out}));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "valid") && contains(result.output, "retrieval pool 50")) << result.output;
  fs::resize_file(dir / "tf" / "scenes_test_items.bin", 100);
  result = run_sieve(join({"data check trifashion", out}));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "scenes_test_items.bin")) << result.output;

  result = run_sieve(join({"data build trifashion --size tiny --out", out}));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "sieve: error:") && contains(result.output, "--force")) << result.output;
  EXPECT_EQ(fs::last_write_time(dir / "tf" / "manifest.json"), manifest_time);  // untouched

  result = run_sieve(join({"data build trifashion --size tiny --seed 4 --force --out", out}));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  std::ifstream manifest(dir / "tf" / "manifest.json");
  const std::string text{std::istreambuf_iterator<char>(manifest), std::istreambuf_iterator<char>()};
  EXPECT_TRUE(contains(text, "\"seed\": 4")) << text.substr(0, 200);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // no leftovers
}

TEST(DataCli, ReportsBadFlagsAndMissingSources) {
  sieve::testing::TempDir dir;
  auto result = run_sieve(join({"data build trifashion --size huge --out", (dir / "x").string()}));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "unknown trifashion size 'huge'")) << result.output;
  result = run_sieve(join({"data build trifashion --size tiny --fashion-dir", dir.path().string(), "--out",
                          (dir / "x").string()}));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "train-images-idx3-ubyte.gz")) << result.output;
  result = run_sieve(join({"data build nosuchset --out", (dir / "x").string()}));
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_FALSE(fs::exists(dir / "x"));
}

}  // namespace
