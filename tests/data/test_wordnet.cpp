#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/wordnet.h"

namespace sieve::data {
namespace {

using testing::TempDir;
using testing::write_file;

// A two-synset dictionary in WordNet 3's layout: a licence line, then synsets at the byte
// offsets their lines start at, and an index naming them (with one malformed line).
void write_tiny_wordnet(const std::filesystem::path& dir, bool break_offset = false) {
  std::string data = "  1 This software and database is being provided ...\n";
  const auto synset = [&](const std::string& words, const std::string& gloss) {
    const std::size_t offset = data.size();
    char id[9];
    std::snprintf(id, sizeof(id), "%08zu", offset);
    data += std::string(id) + " 06 n " + words + " 001 @ 00000000 n 0000 | " + gloss + "  \n";
    return std::string(id);
  };
  const std::string sneaker = synset("03 gym_shoe 0 sneaker 0 tennis_shoe 0", "a canvas shoe with a pliable rubber sole");
  const std::string informer = synset("01 sneak 0", "someone acting as an informer; \"he was a sneak\"");
  if (break_offset) data[data.find(sneaker + " 06")] = '9';
  write_file(dir / "data.noun", data);
  write_file(dir / "index.noun",
             "  1 This software and database is being provided ...\n"
             "gym_shoe n 1 1 @ 1 0 " + sneaker + "  \n"
             "sneaker n 2 1 @ 2 1 " + sneaker + " " + informer + "  \n"
             "broken n 3 0 1 0 12345678  \n"
             "tennis_shoe n 1 1 @ 1 0 " + sneaker + "  \n");
}

TEST(WordNet, ReadsSynsetsInSenseOrderAndSkipsMalformedLines) {
  TempDir dir;
  write_tiny_wordnet(dir.path());
  const WordNet wordnet(dir.path());
  EXPECT_EQ(wordnet.lemma_count(), 3u);
  ASSERT_EQ(wordnet.skipped_count(), 1u);
  EXPECT_NE(wordnet.skipped_lines()[0].find("line 4"), std::string::npos) << wordnet.skipped_lines()[0];
  const auto synsets = wordnet.noun_synsets("Sneaker");
  ASSERT_EQ(synsets.size(), 2u);
  EXPECT_EQ(synsets[0].lemmas, (std::vector<std::string>{"gym shoe", "sneaker", "tennis shoe"}));
  EXPECT_EQ(synsets[0].gloss, "a canvas shoe with a pliable rubber sole");
  EXPECT_EQ(synsets[1].lemmas, (std::vector<std::string>{"sneak"}));
  EXPECT_EQ(gloss_definition(synsets[1].gloss), "someone acting as an informer");
  EXPECT_EQ(wordnet.noun_synsets("tennis shoe").size(), 1u);  // spaces stand for underscores
  EXPECT_TRUE(wordnet.noun_synsets("sandal").empty());
}

TEST(WordNet, ReportsAnIndexPointingAtTheWrongLine) {
  TempDir dir;
  write_tiny_wordnet(dir.path(), true);
  const WordNet wordnet(dir.path());
  try {
    wordnet.noun_synsets("gym shoe");
    FAIL() << "expected a core::UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("data.noun at offset"), std::string::npos) << e.what();
  }
}

TEST(WordNet, RefusesADirectoryWithoutTheNounFiles) {
  TempDir dir;
  EXPECT_THROW(WordNet{dir.path()}, core::UserError);
  write_file(dir / "index.noun", "  licence only\n");
  write_file(dir / "data.noun", "");
  EXPECT_THROW(WordNet{dir.path()}, core::UserError);
}

TEST(WordNet, GlossDefinitionDropsExamplesAndUsageNotes) {
  EXPECT_EQ(gloss_definition("a one-piece garment for a woman; has skirt and bodice"), "a one-piece garment for a woman");
  EXPECT_EQ(gloss_definition("(usually in the plural) a garment extending from the waist"),
            "a garment extending from the waist");
}

TEST(WordNet, ReadsDebiansDictionary) {
  if (!std::filesystem::exists(std::filesystem::path(kDefaultWordNetDir) / "index.noun"))
    GTEST_SKIP() << "wordnet-base is not installed";
  const WordNet wordnet;
  EXPECT_GT(wordnet.lemma_count(), 80000u);
  EXPECT_EQ(wordnet.skipped_count(), 0u);
  const auto sandal = wordnet.noun_synsets("sandal");
  ASSERT_EQ(sandal.size(), 1u);
  EXPECT_EQ(sandal[0].lemmas, (std::vector<std::string>{"sandal"}));
  EXPECT_EQ(sandal[0].gloss, "a shoe consisting of a sole fastened by straps to the foot");
  const auto bag = wordnet.noun_synsets("bag");
  ASSERT_GE(bag.size(), 5u);
  EXPECT_EQ(bag[0].lemmas[0], "bag");
  EXPECT_NE(bag[0].gloss.find("container"), std::string::npos) << bag[0].gloss;
  // A lemma of a later sense: "handbag" is bag's third sense.
  EXPECT_TRUE(std::any_of(bag.begin(), bag.end(), [](const WordNetSynset& s) {
    return std::find(s.lemmas.begin(), s.lemmas.end(), "handbag") != s.lemmas.end();
  }));
}

}  // namespace
}  // namespace sieve::data
