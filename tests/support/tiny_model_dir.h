// A servable model directory made in-process in well under a second: the "tiny" preset with
// random weights (seeded), and a 512-piece tokenizer trained on the made-up corpus. For tests
// that need a real model directory but not a trained one (serving, loading, conversion).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "made_up_corpus.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"

namespace sieve::testing {

// Writes tokenizer.model into `dir` (created): 512 pieces trained on the made-up corpus, the same
// every time.
inline void write_tiny_tokenizer(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path corpus = dir / "corpus.txt";
  write_made_up_corpus(corpus, 7);
  data::TokenizerTrainOptions options;
  options.inputs = {corpus};
  options.model_prefix = dir / "tokenizer";
  options.vocab_size = 512;
  options.num_threads = 1;
  data::train_tokenizer(options);
  std::filesystem::remove(corpus);
  std::filesystem::remove(dir / "tokenizer.vocab");
}

// Writes config.json, model.safetensors and tokenizer.model into `dir` (created). Different
// `seed`s give different weights (so two directories answer differently) with the same tokenizer.
// Another `preset` ("demo": a longer context, a few times the compute) gives a slower model.
inline void write_tiny_model_dir(const std::filesystem::path& dir, std::uint64_t seed = 1,
                                 const std::string& preset = "tiny") {
  write_tiny_tokenizer(dir);
  nn::LlamaConfig config = nn::preset_config(preset);
  config.vocab_size = 512;
  const nn::LlamaForCausalLM model(config, seed);
  io::save_model(model, dir);
}

}  // namespace sieve::testing
