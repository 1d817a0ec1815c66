#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/prepare.h"
#include "sieve/data/token_shard.h"

namespace sieve::data {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::tiny_tokenizer;
using testing::write_file;
using Docs = std::vector<std::string>;

// Splits a shard's tokens at the separator and decodes each document.
Docs decode_documents(const TokenShard& shard, const Tokenizer& tokenizer) {
  Docs documents;
  std::vector<std::int32_t> current;
  for (const auto id : shard.to_vector()) {
    if (id == shard.separator_id()) {
      documents.push_back(tokenizer.decode(current));
      current.clear();
    } else {
      current.push_back(id);
    }
  }
  EXPECT_TRUE(current.empty()) << "shard does not end with a separator";
  return documents;
}

PrepareOptions options_for(const TempDir& dir, const std::string& out) {
  PrepareOptions options;
  options.corpora = {dir / "corpus.txt"};
  options.out_dir = dir / out;
  options.split = {.val_fraction = 0.2, .seed = 5};
  options.progress = false;
  return options;
}

TEST(Prepare, WritesTrainAndValidationShardsOfTheDocuments) {
  TempDir dir;
  const Docs documents = testing::generated_paragraphs(200, 17);
  write_file(dir / "corpus.txt", testing::join(documents, "\n\n"));
  const Tokenizer& tokenizer = tiny_tokenizer();

  const PrepareResult result = prepare_dataset(tokenizer, options_for(dir, "out"));
  EXPECT_EQ(result.train_documents + result.val_documents, 200);
  EXPECT_GT(result.val_documents, 10);
  EXPECT_GT(result.train_documents, 100);

  Docs expected_train, expected_val;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    (assign_split(i, {.val_fraction = 0.2, .seed = 5}) == Split::validation ? expected_val
                                                                              : expected_train)
        .push_back(documents[i]);
  }
  const TokenShard train = TokenShard::open(result.train_path);
  const TokenShard val = TokenShard::open(result.val_path);
  EXPECT_EQ(train.separator_id(), tokenizer.eos_id());
  EXPECT_EQ(train.vocab_size(), tokenizer.vocab_size());
  EXPECT_EQ(train.size(), result.train_tokens);
  EXPECT_EQ(val.size(), result.val_tokens);
  EXPECT_EQ(decode_documents(train, tokenizer), expected_train);
  EXPECT_EQ(decode_documents(val, tokenizer), expected_val);

  const auto info = nlohmann::json::parse(read_file(dir / "out" / "dataset.json"));
  EXPECT_EQ(info["train"]["documents"], result.train_documents);
  EXPECT_EQ(info["val"]["tokens"], result.val_tokens);
  EXPECT_EQ(info["vocab_size"], tokenizer.vocab_size());
}

TEST(Prepare, OutputDoesNotDependOnThreadCount) {
  TempDir dir;
  write_file(dir / "corpus.txt", testing::join(testing::generated_paragraphs(1500, 3), "\n\n"));
  auto one = options_for(dir, "one");
  one.num_threads = 1;
  auto three = options_for(dir, "three");
  three.num_threads = 3;
  prepare_dataset(tiny_tokenizer(), one);
  prepare_dataset(tiny_tokenizer(), three);
  EXPECT_EQ(read_file(dir / "one" / "train.bin"), read_file(dir / "three" / "train.bin"));
  EXPECT_EQ(read_file(dir / "one" / "val.bin"), read_file(dir / "three" / "val.bin"));
}

TEST(Prepare, CapsStopEarly) {
  TempDir dir;
  const Docs documents = testing::generated_paragraphs(300, 4);
  write_file(dir / "corpus.txt", testing::join(documents, "\n\n"));
  auto capped = options_for(dir, "docs");
  capped.max_documents = 50;
  auto result = prepare_dataset(tiny_tokenizer(), capped);
  EXPECT_EQ(result.train_documents + result.val_documents, 50);

  capped = options_for(dir, "bytes");
  capped.max_bytes = 5000;
  result = prepare_dataset(tiny_tokenizer(), capped);
  EXPECT_GE(result.text_bytes, 5000);
  EXPECT_LT(result.text_bytes, 5000 + static_cast<std::int64_t>(std::max_element(
                                          documents.begin(), documents.end(),
                                          [](const auto& a, const auto& b) {
                                            return a.size() < b.size();
                                          })->size()));
}

TEST(Prepare, ReadsSeveralCorporaInOrder) {
  TempDir dir;
  write_file(dir / "corpus.txt", "first one\n\nfirst two\n");
  write_file(dir / "wiki.test.raw", " = Title = \n body text \n");
  auto options = options_for(dir, "both");
  options.corpora.push_back(dir / "wiki.test.raw");
  options.split.val_fraction = 0.0;
  const auto result = prepare_dataset(tiny_tokenizer(), options);
  EXPECT_EQ(decode_documents(TokenShard::open(result.train_path), tiny_tokenizer()),
            (Docs{"first one", "first two", " = Title = \n body text "}));
  EXPECT_EQ(TokenShard::open(result.val_path).size(), 0);
}

TEST(Prepare, BadInputIsAUserError) {
  TempDir dir;
  write_file(dir / "corpus.txt", "only\n\nthree\n\ndocuments\n");
  const Tokenizer& tokenizer = tiny_tokenizer();

  auto bad = options_for(dir, "a");
  bad.split.val_fraction = 1e-9;  // nothing lands in validation
  EXPECT_THROW(prepare_dataset(tokenizer, bad), core::UserError);
  EXPECT_FALSE(std::filesystem::exists(dir / "a" / "train.bin"));

  bad = options_for(dir, "b");
  bad.split.val_fraction = 1.5;
  EXPECT_THROW(prepare_dataset(tokenizer, bad), core::UserError);
  bad = options_for(dir, "c");
  bad.corpora = {dir / "missing.txt"};
  EXPECT_THROW(prepare_dataset(tokenizer, bad), core::UserError);
  bad = options_for(dir, "d");
  bad.corpora = {};
  EXPECT_THROW(prepare_dataset(tokenizer, bad), core::UserError);
  write_file(dir / "blank.txt", "\n\n");
  bad = options_for(dir, "e");
  bad.corpora = {dir / "blank.txt"};
  EXPECT_THROW(prepare_dataset(tokenizer, bad), core::UserError);
  bad = options_for(dir, "f");
  bad.max_documents = -1;
  EXPECT_THROW(prepare_dataset(tokenizer, bad), core::UserError);
}

}  // namespace
}  // namespace sieve::data
