#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "data_test_util.h"
#include "fuzz_inputs.h"
#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"

namespace sieve::data {
namespace {

using testing::TempDir;
using testing::tiny_tokenizer;
using testing::write_file;

TEST(Tokenizer, TrainedModelHasRequestedVocabularyAndSpecialIds) {
  const Tokenizer& tokenizer = tiny_tokenizer();
  EXPECT_EQ(tokenizer.vocab_size(), 500);
  EXPECT_EQ(tokenizer.unk_id(), 0);
  EXPECT_EQ(tokenizer.bos_id(), 1);
  EXPECT_EQ(tokenizer.eos_id(), 2);
  EXPECT_EQ(tokenizer.pad_id(), 3);
  // Frequent words of the training text became single pieces; text compresses.
  EXPECT_EQ(tokenizer.encode("the").size(), 1u);
  const std::string text = testing::generated_paragraphs(1, 99).front();
  EXPECT_LT(tokenizer.encode(text).size() * 2, text.size());
}

TEST(Tokenizer, RoundTripsAnyTextExactly) {
  const Tokenizer& tokenizer = tiny_tokenizer();
  const std::vector<std::string> texts = {
      "The dictionary entry of the word.",
      "Affect \\Af*fect\"\\, v. t.\n   To act upon; {Fact}.\n\n      --Milton.",
      "  leading and trailing spaces  ",
      "tabs\tand\r\nCRLF",
      "unseen characters: é, ß, 漢字, emoji 🙂",  // byte fallback
      "",
  };
  for (const auto& text : texts) {
    const auto ids = tokenizer.encode(text);
    for (const auto id : ids) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, tokenizer.vocab_size());
    }
    EXPECT_EQ(tokenizer.decode(ids), text);
  }
  EXPECT_NE(tokenizer.encode("é").front(), tokenizer.unk_id());  // bytes, not <unk>
}

TEST(Tokenizer, SerializedBytesLoadToTheSameModel) {
  const Tokenizer& tokenizer = tiny_tokenizer();
  const Tokenizer copy = Tokenizer::from_serialized(tokenizer.serialized());
  EXPECT_EQ(copy.vocab_size(), tokenizer.vocab_size());
  EXPECT_EQ(copy.encode("the river and the stone"), tokenizer.encode("the river and the stone"));
}

TEST(Tokenizer, StreamingDecoderPrintsTheSameTextTokenByToken) {
  const Tokenizer& tokenizer = tiny_tokenizer();
  const std::string text = "The word 漢字 means\n   a figure; café.";
  const auto ids = tokenizer.encode(text);
  StreamingDecoder decoder(tokenizer);
  std::string printed;
  for (const auto id : ids) {
    const std::string piece = decoder.push(id);
    // Never prints a placeholder for a half-received character.
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "after id " << id;
    printed += piece;
  }
  printed += decoder.finish();
  EXPECT_EQ(printed, text);
  EXPECT_TRUE(decoder.ids().empty());
}

TEST(Tokenizer, StreamingDecoderHoldsBackAnIncompleteCharacter) {
  const Tokenizer& tokenizer = tiny_tokenizer();
  const auto ids = tokenizer.encode("漢");  // three byte pieces
  ASSERT_GE(ids.size(), 3u);
  StreamingDecoder decoder(tokenizer);
  std::string printed;
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) printed += decoder.push(ids[i]);
  EXPECT_EQ(printed, "");
  printed += decoder.push(ids.back());
  EXPECT_EQ(printed, "漢");
  EXPECT_THROW(decoder.push(tokenizer.vocab_size()), core::UserError);
  EXPECT_EQ(decoder.push(tokenizer.encode("the").front()), " the");  // stream still usable
}

// `sieve generate` prints a prompt and then its continuation: streamed after the prompt's ids,
// the continuation keeps the space its first piece ("▁of") carries, so the text printed is the
// decode of all the ids. Decoded on its own, that first piece loses its space ("The riverof").
TEST(Tokenizer, StreamingDecoderContinuesAPromptWithItsSpace) {
  const Tokenizer& tokenizer = tiny_tokenizer();
  const std::vector<std::int32_t> prompt = tokenizer.encode("The river");
  const std::vector<std::int32_t> continuation = tokenizer.encode("of the stone");  // "▁of", ...
  ASSERT_EQ(tokenizer.id_to_piece(continuation.front()).rfind("\xE2\x96\x81", 0), 0u) << "a piece with its space";
  std::vector<std::int32_t> all = {tokenizer.bos_id()};
  all.insert(all.end(), prompt.begin(), prompt.end());
  all.insert(all.end(), continuation.begin(), continuation.end());

  StreamingDecoder decoder(tokenizer);
  std::string printed = decoder.push(std::span<const std::int32_t>(all).first(prompt.size() + 1));
  EXPECT_EQ(printed, "The river");
  for (const auto id : continuation) printed += decoder.push(id);
  printed += decoder.finish();
  EXPECT_EQ(printed, tokenizer.decode(all));
  EXPECT_EQ(printed, "The river of the stone");

  StreamingDecoder alone(tokenizer);
  std::string continuation_alone;
  for (const auto id : continuation) continuation_alone += alone.push(id);
  EXPECT_EQ(continuation_alone, "of the stone");
  // A bad id in a span is refused before any of the span joins the stream.
  StreamingDecoder checked(tokenizer);
  const std::vector<std::int32_t> bad = {prompt.front(), tokenizer.vocab_size()};
  EXPECT_THROW(checked.push(bad), core::UserError);
  EXPECT_TRUE(checked.ids().empty());
}

TEST(Tokenizer, TrainingIsDeterministic) {
  TempDir dir;
  // Each line repeats its own random word, so which lines are sampled decides the merges.
  std::mt19937 rng(11);
  std::string text;
  for (int line = 0; line < 300; ++line) {
    std::string word;
    for (int c = 0; c < 6; ++c) word += static_cast<char>('a' + rng() % 26);
    for (int r = 0; r < 20; ++r) text += word + " ";
    text += "\n";
  }
  write_file(dir / "text.txt", text);
  TokenizerTrainOptions options;
  options.inputs = {dir / "text.txt"};
  options.vocab_size = 360;
  options.input_sentence_size = 150;  // fewer than the lines: forces sampling, which must be seeded
  options.model_prefix = dir / "a";
  train_tokenizer(options);
  options.model_prefix = dir / "b";
  train_tokenizer(options);
  const std::string a = testing::read_file(dir / "a.model");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, testing::read_file(dir / "b.model"));
  EXPECT_TRUE(std::filesystem::exists(dir / "a.vocab"));
  // The seed does steer the sample.
  options.seed = 2;
  options.model_prefix = dir / "c";
  train_tokenizer(options);
  EXPECT_NE(a, testing::read_file(dir / "c.model"));
}

TEST(Tokenizer, WithoutByteFallbackASmallVocabularyWorks) {
  TempDir dir;
  write_file(dir / "text.txt", testing::join(testing::generated_paragraphs(100, 5), "\n"));
  TokenizerTrainOptions options;
  options.inputs = {dir / "text.txt"};
  options.model_prefix = dir / "small";
  options.vocab_size = 200;
  options.byte_fallback = false;
  train_tokenizer(options);
  const Tokenizer tokenizer = Tokenizer::load(dir / "small.model");
  EXPECT_EQ(tokenizer.vocab_size(), 200);
  const auto ids = tokenizer.encode("the 漢 river");
  EXPECT_NE(std::find(ids.begin(), ids.end(), tokenizer.unk_id()), ids.end());
}

TEST(Tokenizer, TrainsUnigramFromAWikitextCorpus) {
  TempDir dir;
  std::string raw;
  const auto paragraphs = testing::generated_paragraphs(200, 3);
  for (std::size_t i = 0; i < paragraphs.size(); ++i) {
    if (i % 20 == 0) raw += " \n = Article " + std::to_string(i) + " = \n \n";
    raw += " " + paragraphs[i] + " \n";
  }
  write_file(dir / "wiki.train.raw", raw);
  TokenizerTrainOptions options;
  options.inputs = {dir / "wiki.train.raw"};
  options.model_prefix = dir / "uni";
  options.model_type = "unigram";
  options.vocab_size = 340;
  options.num_threads = 2;
  train_tokenizer(options);
  const Tokenizer tokenizer = Tokenizer::load(dir / "uni.model");
  EXPECT_EQ(tokenizer.vocab_size(), 340);
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(paragraphs[5])), paragraphs[5]);
}

TEST(Tokenizer, BadInputIsAUserError) {
  TempDir dir;
  EXPECT_THROW(Tokenizer::load(dir / "missing.model"), core::UserError);
  write_file(dir / "garbage.model", "this is not a protobuf");
  EXPECT_THROW(Tokenizer::load(dir / "garbage.model"), core::UserError);
  EXPECT_THROW(tiny_tokenizer().decode(std::vector<std::int32_t>{5, 500}), core::UserError);
  EXPECT_THROW(tiny_tokenizer().decode(std::vector<std::int32_t>{-1}), core::UserError);

  write_file(dir / "text.txt", testing::join(testing::generated_paragraphs(50), "\n"));
  TokenizerTrainOptions options;
  options.inputs = {dir / "text.txt"};
  options.model_prefix = dir / "m";

  auto bad = options;
  bad.inputs = {dir / "nope.txt"};
  EXPECT_THROW(train_tokenizer(bad), core::UserError);
  bad = options;
  bad.vocab_size = 100;  // byte fallback alone needs 256 + 4
  EXPECT_THROW(train_tokenizer(bad), core::UserError);
  bad = options;
  bad.input_sentence_size = -1;
  EXPECT_THROW(train_tokenizer(bad), core::UserError);
  bad = options;
  bad.model_type = "wordpiece";
  EXPECT_THROW(train_tokenizer(bad), core::UserError);
  bad = options;
  bad.model_prefix = dir / "no-such-dir" / "m";
  EXPECT_THROW(train_tokenizer(bad), core::UserError);
  bad = options;
  bad.vocab_size = 5000;  // far more pieces than 50 short paragraphs can give
  EXPECT_THROW(train_tokenizer(bad), core::UserError);
  write_file(dir / "blank.txt", "\n   \n\n");
  bad = options;
  bad.inputs = {dir / "blank.txt"};
  EXPECT_THROW(train_tokenizer(bad), core::UserError);
  EXPECT_FALSE(std::filesystem::exists(dir / "m.model"));
}

// The tokenizer.model of a model_dir fuzz seed (tests/fuzz/make_seeds.py).
std::string seed_tokenizer(const std::string& seed) {
  const std::string bytes = testing::read_file(std::filesystem::path(SIEVE_FIXTURE_DIR) / ".." / "fuzz" / "corpus" /
                                               "model_dir" / seed);
  const auto parts = fuzz::split_parts(bytes, 3);
  return parts.size() == 3 ? std::string(parts[2]) : std::string();
}

void expect_refused(const std::string& model, const std::string& needle) {
  try {
    Tokenizer::from_serialized(model);
    ADD_FAILURE() << "the tokenizer loaded";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  TempDir dir;
  write_file(dir / "bad.model", model);
  EXPECT_THROW(Tokenizer::load(dir / "bad.model"), core::UserError);
}

// Found by fuzz_model_dir: SentencePiece loads a model whose "\u2581t" is both a control and a
// normal piece, then fails inside encode (an internal error, exit 3, in `sieve generate`).
// Loading refuses it instead, naming the piece.
TEST(Tokenizer, PieceDefinedTwiceIsRefusedAtLoad) {
  expect_refused(seed_tokenizer("invalid_tokenizer_control_piece_twice"),
                 "piece '\u2581t' is defined twice (ids 2 and 3)");
}

// Found by fuzz_model_dir: a model whose "\u2581" is a control piece loads, then cannot encode
// any text with a space (an internal error in encode before). Loading refuses it.
TEST(Tokenizer, ModelThatCannotEncodeIsRefusedAtLoad) {
  expect_refused(seed_tokenizer("invalid_tokenizer_space_is_a_control_piece"), "cannot encode text");
}

// Found by fuzz_model_dir: a unigram piece starting with a NUL byte makes SentencePiece's trie
// builder throw out of Load (an internal error before).
TEST(Tokenizer, ModelThatMakesSentencePieceThrowIsAUserError) {
  expect_refused(seed_tokenizer("invalid_tokenizer_unigram_piece_with_nul"), "failed to insert key: zero-length key");
}

}  // namespace
}  // namespace sieve::data
