// `sieve generate` prints the decode of all the ids — prompt and continuation together — so the
// space a continuation's first piece carries ("▁of") is kept: "The river of", not "The riverof".
// The model is built to always predict one such piece, so the check does not depend on sampling.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "../cli/run_sieve.h"
#include "made_up_corpus.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"
#include "temp_dir.h"

namespace sieve {
namespace {

// A tiny model whose greedy choice is always `token`: the blocks' output projections are zero, so
// the residual stream is the embedding; every embedding has a 1 in channel 0, the final norm keeps
// only channel 0 (then positive), and the head reads it into `token`'s logit alone.
void save_always_predicting(std::int64_t token, std::int64_t vocab, const std::filesystem::path& dir) {
  nn::LlamaConfig config = nn::preset_config("tiny");
  config.vocab_size = vocab;
  nn::LlamaForCausalLM model(config, 0);
  for (auto& [name, tensor] : model.named_parameters()) {
    float* w = tensor.data<float>();
    if (name.ends_with("o_proj.weight") || name.ends_with("down_proj.weight") || name == "lm_head.weight" ||
        name == "model.norm.weight")
      std::fill(w, w + tensor.numel(), 0.0f);
    if (name == "model.embed_tokens.weight")
      for (std::int64_t row = 0; row < vocab; ++row) w[row * config.hidden_size] = 1.0f;
    if (name == "model.norm.weight") w[0] = 1.0f;
    if (name == "lm_head.weight") w[token * config.hidden_size] = 1.0f;
  }
  io::save_model(model, dir);
}

TEST(GeneratedText, TheContinuationKeepsItsLeadingSpace) {
  sieve::testing::TempDir dir;
  sieve::testing::write_made_up_corpus(dir / "corpus.txt", 3);
  data::TokenizerTrainOptions options;
  options.inputs = {dir / "corpus.txt"};
  options.model_prefix = dir / "tokenizer";
  options.vocab_size = 512;
  options.num_threads = 1;
  data::train_tokenizer(options);
  const data::Tokenizer tokenizer = data::Tokenizer::load(dir / "tokenizer.model");
  std::int32_t word = -1;  // a piece that starts a word: "▁" and at least one letter
  for (std::int32_t id = 0; id < tokenizer.vocab_size() && word < 0; ++id) {
    const std::string piece = tokenizer.id_to_piece(id);
    if (piece.size() > 3 && piece.starts_with("\xE2\x96\x81") && std::isalpha(static_cast<unsigned char>(piece[3])))
      word = id;
  }
  ASSERT_GE(word, 0);
  const std::filesystem::path model_dir = dir / "model";
  save_always_predicting(word, tokenizer.vocab_size(), model_dir);
  std::filesystem::copy_file(dir / "tokenizer.model", model_dir / io::kTokenizerFile);

  const std::string prompt = "the river";
  const auto result = sieve::testing::run_sieve("generate --model " + model_dir.string() + " --prompt '" + prompt +
                                                "' --temperature 0 --max-new-tokens 3 --no-stop-at-eos");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<std::int32_t> ids = {tokenizer.bos_id()};
  for (const auto id : tokenizer.encode(prompt)) ids.push_back(id);
  for (int i = 0; i < 3; ++i) ids.push_back(word);
  const std::string expected = tokenizer.decode(ids);
  ASSERT_EQ(expected.substr(0, prompt.size() + 1), prompt + " ");
  EXPECT_EQ(result.output, expected + "\n");
}

}  // namespace
}  // namespace sieve
