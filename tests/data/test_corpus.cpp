#include <gtest/gtest.h>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/corpus.h"
#include "sieve/data/corpus_wikitext.h"

namespace sieve::data {
namespace {

using testing::TempDir;
using testing::write_file;
using Docs = std::vector<std::string>;

TEST(Corpus, DetectsFormatFromFileName) {
  EXPECT_EQ(detect_corpus_format("/usr/share/dictd/gcide.dict.dz"), CorpusFormat::dictd);
  EXPECT_EQ(detect_corpus_format("foldoc.dict"), CorpusFormat::dictd);
  EXPECT_EQ(detect_corpus_format("wikitext-103-raw/wiki.train.raw"), CorpusFormat::wikitext);
  EXPECT_EQ(detect_corpus_format("notes.txt"), CorpusFormat::text);
  EXPECT_EQ(detect_corpus_format("README"), CorpusFormat::text);
}

TEST(Corpus, PlainTextSplitsDocumentsAtBlankLines) {
  TempDir dir;
  write_file(dir / "a.txt",
             "\n\nFirst document,\n  second line.\n\n\n   \t\nSecond document.\r\n"
             "Still second.\r\n\r\nThird, without a final newline");
  EXPECT_EQ(read_corpus(dir / "a.txt"),
            (Docs{"First document,\n  second line.", "Second document.\nStill second.",
                  "Third, without a final newline"}));
}

TEST(Corpus, VisitorCanStopEarly) {
  TempDir dir;
  write_file(dir / "a.txt", "one\n\ntwo\n\nthree\n");
  Docs seen;
  const auto count = for_each_document(dir / "a.txt", [&](std::string_view document) {
    seen.emplace_back(document);
    return seen.size() < 2;
  });
  EXPECT_EQ(count, 2);
  EXPECT_EQ(seen, (Docs{"one", "two"}));
}

TEST(Corpus, ReaderReportsProgress) {
  TempDir dir;
  write_file(dir / "a.txt", "one\n\ntwo\n");
  const auto reader = open_corpus(dir / "a.txt");
  EXPECT_EQ(reader->bytes_total(), 9u);
  std::string document;
  ASSERT_TRUE(reader->next(document));
  EXPECT_GT(reader->bytes_consumed(), 0u);
  ASSERT_TRUE(reader->next(document));
  EXPECT_FALSE(reader->next(document));
  EXPECT_EQ(reader->bytes_consumed(), reader->bytes_total());
}

TEST(Corpus, BadInputIsAUserError) {
  TempDir dir;
  EXPECT_THROW(read_corpus(dir / "missing.txt"), core::UserError);
  EXPECT_THROW(read_corpus(dir.path()), core::UserError);  // a directory
  write_file(dir / "blank.txt", "\n  \n\t\n");
  try {
    read_corpus(dir / "blank.txt");
    FAIL() << "expected a UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("blank.txt"), std::string::npos) << e.what();
  }
}

TEST(Wikitext, RecognisesOnlyLevelOneHeadings) {
  EXPECT_TRUE(is_wikitext_article_title(" = Valkyria Chronicles III = "));
  EXPECT_TRUE(is_wikitext_article_title("= Tower Building of the Little Rock Arsenal ="));
  EXPECT_FALSE(is_wikitext_article_title(" = = Gameplay = = "));
  EXPECT_FALSE(is_wikitext_article_title(" = = = Development = = = "));
  EXPECT_FALSE(is_wikitext_article_title(" The equation a = b = c holds . "));
  EXPECT_FALSE(is_wikitext_article_title(" "));
  EXPECT_FALSE(is_wikitext_article_title(" = = "));
}

TEST(Wikitext, YieldsOneDocumentPerArticle) {
  TempDir dir;
  const std::string raw =
      " \n"
      " = Valkyria Chronicles III = \n"
      " \n"
      " Senjō no Valkyria 3 is a tactical role @-@ playing game . \n"
      " \n"
      " = = Gameplay = = \n"
      " \n"
      " As with previous games , the player ... \n"
      " \n"
      " \n"
      " = Tower Building = \n"
      " \n"
      " The Tower Building is a structure . \n"
      " \n";
  write_file(dir / "wiki.valid.raw", raw);
  const Docs documents = read_corpus(dir / "wiki.valid.raw");
  ASSERT_EQ(documents.size(), 2u);
  EXPECT_EQ(documents[0],
            " = Valkyria Chronicles III = \n"
            " \n"
            " Senjō no Valkyria 3 is a tactical role @-@ playing game . \n"
            " \n"
            " = = Gameplay = = \n"
            " \n"
            " As with previous games , the player ... ");
  EXPECT_EQ(documents[1],
            " = Tower Building = \n"
            " \n"
            " The Tower Building is a structure . ");
}

TEST(Wikitext, TextBeforeTheFirstHeadingIsItsOwnDocument) {
  TempDir dir;
  write_file(dir / "x.raw", " preface text \n = A = \n body \n");
  EXPECT_EQ(read_corpus(dir / "x.raw"), (Docs{" preface text ", " = A = \n body "}));
}

}  // namespace
}  // namespace sieve::data
