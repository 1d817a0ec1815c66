#include "apps/sieve/new_model.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sieve/core/error.h"
#include "sieve/data/dataset_registry.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

// Reuses out/tokenizer.model, copies --tokenizer there, or trains one on the datasets' text.
data::Tokenizer ensure_tokenizer(const NewModelRequest& request, const std::vector<fs::path>& corpora,
                                 std::int64_t vocab_size) {
  const fs::path target = request.out_dir / io::kTokenizerFile;
  if (!request.tokenizer.empty()) {
    auto tokenizer = data::Tokenizer::load(request.tokenizer);
    if (!fs::exists(target) || !fs::equivalent(request.tokenizer, target))
      fs::copy_file(request.tokenizer, target, fs::copy_options::overwrite_existing);
    return tokenizer;
  }
  if (fs::exists(target)) return data::Tokenizer::load(target);
  SIEVE_USER_CHECK(!corpora.empty(),
                   "--dataset: a new model needs a dataset to train its tokenizer on (or --tokenizer)");
  std::fprintf(stderr, "training a %lld-piece BPE tokenizer on %zu corpus file(s)...\n",
               static_cast<long long>(vocab_size), corpora.size());
  data::TokenizerTrainOptions options;
  options.inputs = corpora;
  options.model_prefix = request.out_dir / "tokenizer";
  options.vocab_size = static_cast<int>(vocab_size);
  data::train_tokenizer(options);
  return data::Tokenizer::load(target);
}

// Whether the --config file (if any) sets attention.dense_below itself.
bool sets_dense_below(const std::string& config_file) {
  if (config_file.empty()) return false;
  std::ifstream in(config_file);
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  return json.is_object() && json.contains("attention") && json["attention"].is_object() &&
         json["attention"].contains("dense_below");
}

}  // namespace

nn::LlamaConfig write_new_model(const NewModelRequest& request) {
  std::vector<fs::path> corpora;
  for (const auto& name : request.datasets)
    for (const auto& file : data::resolve_dataset(name, request.data_dir).train) corpora.push_back(file);
  fs::create_directories(request.out_dir);
  nn::LlamaConfig config = request.config_file.empty() ? nn::preset_config(request.preset)
                                                       : io::load_llama_config(request.config_file);
  apply_attention_flags(request.attention, config.attention);
  std::string dense_below_source;  // where dense_below was set; empty: it is the default
  if (request.attention.dense_below) {
    dense_below_source = "--sparse-dense-below";
  } else if (sets_dense_below(request.config_file)) {
    dense_below_source = request.config_file;
  }
  if (const std::string note = settle_new_sparse_model(config, dense_below_source); !note.empty())
    std::fprintf(stderr, "%s\n", note.c_str());
  const data::Tokenizer tokenizer = ensure_tokenizer(request, corpora, config.vocab_size);
  SIEVE_USER_CHECK(tokenizer.vocab_size() <= config.vocab_size,
                   "the tokenizer has {} pieces but the model's vocab_size is {}", tokenizer.vocab_size(),
                   config.vocab_size);
  config.vocab_size = tokenizer.vocab_size();
  config.bos_token_id = tokenizer.bos_id();
  config.eos_token_id = tokenizer.eos_id();
  io::save_llama_config(request.out_dir / io::kConfigFile, config);
  return config;
}

}  // namespace sieve::apps
