// A new model directory for `sieve train --out` (without --model-path): config.json from a preset
// or a config file with the attention flags applied, and tokenizer.model (reused when the
// directory has one, copied from a given file, or trained on the datasets' text). The Python
// module's sieve.create_model makes one the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/sieve/attention_flags.h"
#include "sieve/nn/models/llama.h"

namespace sieve::apps {

struct NewModelRequest {
  std::filesystem::path out_dir{};
  std::vector<std::string> datasets{};  // the tokenizer's training text (see dataset_registry.h)
  std::filesystem::path data_dir{};    // where WikiText is (empty: $SIEVE_DATA)
  std::string tokenizer{};             // an existing tokenizer.model (empty: train one)
  std::string preset = "demo";
  std::string config_file{};           // instead of the preset
  AttentionFlags attention{};
};

// Writes out_dir/config.json and out_dir/tokenizer.model (out_dir created) and returns the
// config. Throws core::UserError for bad input (unknown preset, no dataset and no tokenizer, a
// tokenizer larger than the config's vocabulary).
nn::LlamaConfig write_new_model(const NewModelRequest& request);

}  // namespace sieve::apps
