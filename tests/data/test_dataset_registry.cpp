// Dataset names: WikiText from a data directory in the layouts people have, the error that says
// what to put where, and the cached tokenization that uses WikiText's own validation split.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/corpus.h"
#include "sieve/data/dataset_cache.h"
#include "sieve/data/dataset_registry.h"
#include "sieve/data/token_shard.h"

namespace sieve::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_file;

// Sets or clears $SIEVE_DATA for one test and restores it after.
class ScopedDataEnv {
 public:
  explicit ScopedDataEnv(const std::optional<std::string>& value) {
    if (const char* old = std::getenv(kDataDirEnv)) old_ = old;
    if (value) ::setenv(kDataDirEnv, value->c_str(), 1);
    else ::unsetenv(kDataDirEnv);
  }
  ~ScopedDataEnv() {
    if (old_) ::setenv(kDataDirEnv, old_->c_str(), 1);
    else ::unsetenv(kDataDirEnv);
  }

 private:
  std::optional<std::string> old_;
};

std::string article(const std::string& title, int paragraphs, int seed) {
  std::string text = " = " + title + " = \n \n";
  for (const auto& p : testing::generated_paragraphs(paragraphs, seed)) text += " " + p + " \n \n";
  return text;
}

// A fake WikiText release in `dir`: 6 train articles, 2 validation, 1 test.
void write_release(const fs::path& dir, bool with_test = true) {
  fs::create_directories(dir);
  std::string train;
  for (int i = 0; i < 6; ++i) train += article("Train " + std::to_string(i), 8, i);
  write_file(dir / "wiki.train.raw", train);
  write_file(dir / "wiki.valid.raw", article("Valid A", 6, 100) + article("Valid B", 6, 101));
  if (with_test) write_file(dir / "wiki.test.raw", article("Test", 3, 200));
}

std::string error_of(const std::string& name, const fs::path& data_dir) {
  try {
    resolve_dataset(name, data_dir);
  } catch (const core::UserError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(DatasetRegistry, WikitextInEveryCommonLayout) {
  for (const std::string folder : {"wikitext-103-raw", "wikitext-103", "wikitext-103-raw-v1"}) {
    TempDir dir;
    write_release(dir / folder);
    const DatasetFiles files = resolve_dataset("wikitext-103", dir.path());
    ASSERT_EQ(files.train.size(), 1u) << folder;
    EXPECT_EQ(files.train[0], dir / folder / "wiki.train.raw") << folder;
    ASSERT_EQ(files.validation.size(), 1u);
    EXPECT_EQ(files.validation[0], dir / folder / "wiki.valid.raw");
    EXPECT_EQ(files.test, dir / folder / "wiki.test.raw");
    EXPECT_TRUE(files.has_own_validation());
  }
}

TEST(DatasetRegistry, DataDirMayBeTheReleaseFolderItself) {
  TempDir dir;
  write_release(dir / "wikitext-2-raw", /*with_test=*/false);
  const DatasetFiles files = resolve_dataset("wikitext-2", dir / "wikitext-2-raw");
  EXPECT_EQ(files.train.at(0), dir / "wikitext-2-raw" / "wiki.train.raw");
  EXPECT_TRUE(files.test.empty());
}

TEST(DatasetRegistry, ReleasesDoNotStandInForEachOther) {
  TempDir dir;
  write_release(dir / "wikitext-2-raw");
  EXPECT_THROW(resolve_dataset("wikitext-103", dir.path()), core::UserError);
  EXPECT_NO_THROW(resolve_dataset("wikitext-2", dir.path()));
}

TEST(DatasetRegistry, DataDirFromEnvironmentWhenNoneIsGiven) {
  TempDir dir;
  write_release(dir / "wikitext-2");
  const ScopedDataEnv env(dir.path().string());
  EXPECT_EQ(resolve_data_dir({}), dir.path());
  EXPECT_EQ(resolve_data_dir("/elsewhere"), fs::path("/elsewhere"));
  EXPECT_EQ(resolve_dataset("wikitext-2").train.at(0), dir / "wikitext-2" / "wiki.train.raw");
}

TEST(DatasetRegistry, MissingReleaseSaysWhichFilesGoWhere) {
  TempDir dir;
  const std::string message = error_of("wikitext-103", dir.path());
  for (const std::string& part : std::vector<std::string>{"wikitext-103", dir.path().string(), "wiki.train.raw", "wiki.valid.raw",
                                 (dir / "wikitext-103-raw/").string(), "does not download"})
    EXPECT_NE(message.find(part), std::string::npos) << "missing '" << part << "' in: " << message;
}

TEST(DatasetRegistry, HalfCopiedOrTokenizedReleaseIsNamed) {
  TempDir dir;
  fs::create_directories(dir / "wikitext-2");
  write_file(dir / "wikitext-2" / "wiki.train.raw", article("Only train", 2, 1));
  std::string message = error_of("wikitext-2", dir.path());
  EXPECT_NE(message.find("lacks wiki.valid.raw"), std::string::npos) << message;

  TempDir tokens;
  fs::create_directories(tokens / "wikitext-103");
  write_file(tokens / "wikitext-103" / "wiki.train.tokens", "x");
  message = error_of("wikitext-103", tokens.path());
  EXPECT_NE(message.find("tokenized release"), std::string::npos) << message;
}

TEST(DatasetRegistry, NoDataDirectoryNamesBothWaysToGiveOne) {
  const ScopedDataEnv env(std::nullopt);
  const std::string message = error_of("wikitext-2", {});
  EXPECT_NE(message.find("--data-dir"), std::string::npos) << message;
  EXPECT_NE(message.find("SIEVE_DATA"), std::string::npos) << message;
  EXPECT_NE(message.find("does not download"), std::string::npos) << message;
  const std::string absent = error_of("wikitext-2", "/nonexistent/sieve-data");
  EXPECT_NE(absent.find("does not exist"), std::string::npos) << absent;
}

TEST(DatasetRegistry, FilesDirectoriesAndUnknownNames) {
  TempDir dir;
  write_file(dir / "notes.txt", "Some text.\n");
  const DatasetFiles file = resolve_dataset((dir / "notes.txt").string());
  EXPECT_EQ(file.train.at(0), dir / "notes.txt");
  EXPECT_FALSE(file.has_own_validation());

  write_release(dir / "my-wiki");
  EXPECT_TRUE(resolve_dataset((dir / "my-wiki").string()).has_own_validation());

  const std::string unknown = error_of("wikitext-7", {});
  EXPECT_NE(unknown.find("wikitext-103"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("gcide"), std::string::npos) << unknown;
  EXPECT_NE(error_of(dir.path().string(), {}).find("not a WikiText release"), std::string::npos);
}

TEST(DatasetRegistry, NamedDictionaries) {
  if (!fs::exists("/usr/share/dictd/gcide.dict.dz")) GTEST_SKIP() << "dict-gcide is not installed";
  const DatasetFiles gcide = resolve_dataset("gcide");
  EXPECT_EQ(gcide.train.at(0), fs::path("/usr/share/dictd/gcide.dict.dz"));
  EXPECT_FALSE(gcide.has_own_validation());
}

TEST(DatasetCache, WikitextValidatesOnItsOwnSplitAndIsReused) {
  TempDir dir;
  write_release(dir / "wikitext-2-raw");
  const DatasetRecipe recipe{.datasets = {"wikitext-2"}, .data_dir = dir.path(), .log = false};
  const CachedDataset first = prepare_cached_dataset(dir / "cache", recipe, testing::tiny_tokenizer());
  EXPECT_TRUE(first.own_validation);
  EXPECT_FALSE(first.reused);
  EXPECT_EQ(first.shards.train_documents, 6);  // every train article, none held out
  EXPECT_EQ(first.shards.val_documents, 2);    // exactly wiki.valid.raw's articles
  EXPECT_EQ(TokenShard::open(first.shards.val_path).size(), first.shards.val_tokens);
  EXPECT_FALSE(fs::exists(dir / "cache" / "train-part"));

  const CachedDataset second = prepare_cached_dataset(dir / "cache", recipe, testing::tiny_tokenizer());
  EXPECT_TRUE(second.reused);
  EXPECT_EQ(second.shards.train_tokens, first.shards.train_tokens);
  EXPECT_EQ(second.shards.val_tokens, first.shards.val_tokens);

  // A changed source file is noticed (its size is part of the recipe).
  write_file(dir / "wikitext-2-raw" / "wiki.valid.raw", article("Valid A", 6, 100));
  const CachedDataset third = prepare_cached_dataset(dir / "cache", recipe, testing::tiny_tokenizer());
  EXPECT_FALSE(third.reused);
  EXPECT_EQ(third.shards.val_documents, 1);
}

TEST(DatasetCache, RandomSplitForPlainTextAndNoMixing) {
  TempDir dir;
  write_file(dir / "text.txt", testing::join(testing::generated_paragraphs(200, 5), "\n\n"));
  const DatasetRecipe recipe{.datasets = {(dir / "text.txt").string()}, .val_fraction = 0.1, .log = false};
  const CachedDataset cached = prepare_cached_dataset(dir / "cache", recipe, testing::tiny_tokenizer());
  EXPECT_FALSE(cached.own_validation);
  EXPECT_EQ(cached.shards.train_documents + cached.shards.val_documents, 200);
  EXPECT_GT(cached.shards.val_documents, 0);

  write_release(dir / "wikitext-2");
  const DatasetRecipe mixed{.datasets = {"wikitext-2", (dir / "text.txt").string()}, .data_dir = dir.path(),
                            .log = false};
  EXPECT_THROW(prepare_cached_dataset(dir / "mixed", mixed, testing::tiny_tokenizer()), core::UserError);
}

}  // namespace
}  // namespace sieve::data
