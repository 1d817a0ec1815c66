// Shared by the serving tests: two tiny model directories with different weights (made once
// per test binary), and the text `sieve generate` makes from a prompt, for comparison.
#pragma once

#include <filesystem>
#include <string>

#include "sieve/autograd/grad_mode.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/generation.h"
#include "temp_dir.h"
#include "tiny_model_dir.h"

namespace sieve::testing {

class ServeTestModels {
 public:
  static const ServeTestModels& get() {
    static const ServeTestModels models;
    return models;
  }
  std::filesystem::path first() const { return dir_ / "first"; }
  std::filesystem::path second() const { return dir_ / "second"; }
  // A directory whose weights file is cut short (loading must fail).
  std::filesystem::path corrupt() const { return dir_ / "corrupt"; }

 private:
  ServeTestModels() {
    write_tiny_model_dir(first(), 1);
    write_tiny_model_dir(second(), 2);
    std::filesystem::create_directories(corrupt());
    for (const char* file : {io::kConfigFile, io::kTokenizerFile})
      std::filesystem::copy_file(first() / file, corrupt() / file);
    std::filesystem::copy_file(first() / io::kWeightsFile, corrupt() / io::kWeightsFile);
    std::filesystem::resize_file(corrupt() / io::kWeightsFile,
                                 std::filesystem::file_size(first() / io::kWeightsFile) / 2);
  }
  TempDir dir_;
};

// What `sieve generate --model DIR --prompt P --max-new-tokens N --temperature T --seed S`
// prints after the prompt: the same ids (BOS, prompt), sampling, and stop at EOS.
inline std::string generate_text(const std::filesystem::path& dir, const std::string& prompt, std::int64_t max_tokens,
                                 float temperature, std::uint64_t seed) {
  autograd::NoGradGuard no_grad;
  const auto model = io::load_model(dir);
  model->set_training(false);
  const data::Tokenizer tokenizer = data::Tokenizer::load(dir / io::kTokenizerFile);
  std::vector<std::int64_t> ids;
  if (tokenizer.bos_id() >= 0) ids.push_back(tokenizer.bos_id());
  for (auto id : tokenizer.encode(prompt)) ids.push_back(id);
  nn::GenerationOptions options;
  options.max_new_tokens = max_tokens;
  options.sampling.temperature = temperature;
  options.sampling.seed = seed;
  options.stop_token = tokenizer.eos_id();
  const auto produced = nn::generate(*model, ids, options);
  data::StreamingDecoder decoder(tokenizer);
  decoder.push(std::vector<std::int32_t>(ids.begin(), ids.end()));
  std::string text;
  for (const auto token : produced) {
    if (token == tokenizer.eos_id()) break;
    text += decoder.push(static_cast<std::int32_t>(token));
  }
  return text + decoder.finish();
}

}  // namespace sieve::testing
