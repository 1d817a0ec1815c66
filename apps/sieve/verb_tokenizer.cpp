// `sieve tokenizer`: train a SentencePiece tokenizer on corpora, and encode/decode with one.
//
//   sieve tokenizer train --input /usr/share/dictd/gcide.dict.dz --vocab-size 8192 --output run/
//   sieve tokenizer encode --model run/tokenizer.model --text "A dictionary entry"
//   sieve tokenizer decode --model run/tokenizer.model --ids 412 97 1033
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "apps/sieve/verbs.h"
#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"

namespace sieve::apps {
namespace {

// --output is a directory (existing, or written with a trailing slash) -> DIR/tokenizer, the
// name a model directory uses; otherwise a file prefix, with a ".model" suffix tolerated.
std::filesystem::path resolve_model_prefix(const std::string& output) {
  SIEVE_USER_CHECK(!output.empty(), "--output is empty (expected a directory or a file prefix)");
  std::filesystem::path path(output);
  std::error_code ec;
  if (output.back() == '/' || std::filesystem::is_directory(path, ec)) {
    std::filesystem::create_directories(path, ec);
    SIEVE_USER_CHECK(std::filesystem::is_directory(path), "cannot create output directory '{}': {}",
                     path.string(), ec.message());
    return path / "tokenizer";
  }
  if (path.extension() == ".model") path.replace_extension();
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    SIEVE_USER_CHECK(std::filesystem::is_directory(path.parent_path()),
                     "cannot create output directory '{}': {}", path.parent_path().string(),
                     ec.message());
  }
  return path;
}

void add_train(CLI::App& parent) {
  auto* cmd = parent.add_subcommand(
      "train",
      "Train a tokenizer. Inputs may be plain text (one sentence per line), wikitext .raw or "
      "dictd .dict.dz files; writes PREFIX.model and PREFIX.vocab");
  auto options = std::make_shared<data::TokenizerTrainOptions>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("--input,-i", *inputs, "Corpus files to learn from (one or more)")->required();
  cmd->add_option("--output,-o", *output,
                  "A directory (writes DIR/tokenizer.model) or a file prefix (writes "
                  "PREFIX.model)")
      ->required();
  cmd->add_option("--vocab-size", options->vocab_size, "Vocabulary size")->capture_default_str();
  cmd->add_option("--model-type", options->model_type, "Subword algorithm")
      ->check(CLI::IsMember({"bpe", "unigram"}))
      ->capture_default_str();
  cmd->add_option("--sentences", options->input_sentence_size,
                  "Lines sampled from the inputs for training (0 = all)")
      ->capture_default_str();
  cmd->add_option("--character-coverage", options->character_coverage,
                  "Share of characters the vocabulary must cover; rarer ones fall back to bytes")
      ->capture_default_str();
  cmd->add_option("--threads", options->num_threads, "Training threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Sampling seed (same seed, same model)")
      ->capture_default_str();
  auto no_byte_fallback = std::make_shared<bool>(false);
  cmd->add_flag("--no-byte-fallback", *no_byte_fallback,
                "Map unknown characters to <unk> instead of UTF-8 byte pieces");
  cmd->add_flag("--verbose", options->verbose, "Show SentencePiece's training log");

  cmd->callback([options, inputs, output, no_byte_fallback] {
    options->inputs.assign(inputs->begin(), inputs->end());
    options->byte_fallback = !*no_byte_fallback;
    options->model_prefix = resolve_model_prefix(*output);
    const auto start = std::chrono::steady_clock::now();
    data::train_tokenizer(*options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string model = options->model_prefix.string() + ".model";
    const auto tokenizer = data::Tokenizer::load(model);
    std::printf("wrote %s (%s, vocabulary %d) in %.1f s\n", model.c_str(),
                options->model_type.c_str(), tokenizer.vocab_size(), seconds);
  });
}

void add_encode(CLI::App& parent) {
  auto* cmd = parent.add_subcommand("encode", "Print the token ids (or pieces) of a text");
  auto model = std::make_shared<std::string>();
  auto text = std::make_shared<std::string>();
  auto pieces = std::make_shared<bool>(false);
  cmd->add_option("--model,-m", *model, "Tokenizer .model file")->required();
  cmd->add_option("--text,-t", *text, "Text to encode")->required();
  cmd->add_flag("--pieces", *pieces, "Print pieces instead of ids");
  cmd->callback([model, text, pieces] {
    const auto tokenizer = data::Tokenizer::load(*model);
    const auto ids = tokenizer.encode(*text);
    std::string line;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) line += ' ';
      line += *pieces ? tokenizer.id_to_piece(ids[i]) : std::to_string(ids[i]);
    }
    std::printf("%s\n", line.c_str());
  });
}

void add_decode(CLI::App& parent) {
  auto* cmd = parent.add_subcommand("decode", "Print the text of token ids");
  auto model = std::make_shared<std::string>();
  auto ids = std::make_shared<std::vector<std::int32_t>>();
  cmd->add_option("--model,-m", *model, "Tokenizer .model file")->required();
  cmd->add_option("--ids", *ids, "Token ids")->required();
  cmd->callback([model, ids] {
    const auto tokenizer = data::Tokenizer::load(*model);
    std::printf("%s\n", tokenizer.decode(*ids).c_str());
  });
}

}  // namespace

void add_tokenizer_verb(CLI::App& app) {
  auto* tokenizer = app.add_subcommand("tokenizer", "Train a tokenizer, or encode/decode text");
  tokenizer->require_subcommand(1);
  add_train(*tokenizer);
  add_encode(*tokenizer);
  add_decode(*tokenizer);
}

}  // namespace sieve::apps
