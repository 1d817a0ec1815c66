#include "sieve/serve/model_version.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/core/error.h"
#include "sieve/io/model_dir.h"

namespace sieve::serve {
namespace {

// "f32", or the quantization scheme of a quantized directory.
std::string precision_of(const std::filesystem::path& directory) {
  if (!compress::is_quantized_model_dir(directory)) return "f32";
  std::ifstream in(directory / io::kConfigFile);
  const nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const auto section = config.find(io::kQuantizationSection);
  if (section != config.end() && section->is_object() && section->contains("scheme") &&
      (*section)["scheme"].is_string())
    return (*section)["scheme"].get<std::string>();
  return "quantized";
}

}  // namespace

std::shared_ptr<const ModelVersion> load_model_version(const std::string& name, const std::filesystem::path& directory,
                                                       std::int64_t version) {
  SIEVE_USER_CHECK(std::filesystem::is_directory(directory), "model '{}': no directory '{}'", name,
                   directory.string());
  const std::filesystem::path tokenizer_file = directory / io::kTokenizerFile;
  SIEVE_USER_CHECK(std::filesystem::is_regular_file(tokenizer_file), "model '{}': no {} in '{}'", name,
                   io::kTokenizerFile, directory.string());
  auto model = compress::is_quantized_model_dir(directory) ? compress::load_quantized_model(directory)
                                                           : io::load_model(directory);
  model->set_training(false);
  data::Tokenizer tokenizer = data::Tokenizer::load(tokenizer_file);
  SIEVE_USER_CHECK(tokenizer.vocab_size() <= model->config().vocab_size,
                   "model '{}': the tokenizer's vocabulary ({}) is larger than the model's ({})", name,
                   tokenizer.vocab_size(), model->config().vocab_size);
  ModelInfo info;
  info.name = name;
  info.version = version;
  info.directory = directory;
  info.context_length = model->config().max_position_embeddings;
  info.precision = precision_of(directory);
  info.created_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return std::make_shared<const ModelVersion>(ModelVersion{std::move(info), std::move(model), std::move(tokenizer)});
}

std::vector<std::int64_t> prompt_ids(const ModelVersion& version, const std::string& prompt) {
  std::vector<std::int64_t> ids;
  if (version.tokenizer.bos_id() >= 0) ids.push_back(version.tokenizer.bos_id());
  for (const auto id : version.tokenizer.encode(prompt)) ids.push_back(id);
  return ids;
}

void check_runs(const ModelVersion& version) {
  autograd::NoGradGuard no_grad;
  const std::vector<std::int64_t> ids = prompt_ids(version, "The quick brown fox");
  SIEVE_USER_CHECK(!ids.empty(), "model '{}': the tokenizer makes no tokens of a test prompt", version.info.name);
  const auto length = static_cast<std::int64_t>(ids.size());
  nn::KvCache cache = version.model->make_cache(1, length);
  const core::Tensor logits =
      version.model->next_token_logits(core::Tensor::from_vector(ids, {1, length}), &cache).contiguous();
  const float* values = logits.data<float>();
  for (std::int64_t i = 0; i < logits.numel(); ++i)
    SIEVE_USER_CHECK(std::isfinite(values[i]), "model '{}' from '{}' gives non-finite logits", version.info.name,
                     version.info.directory.string());
}

}  // namespace sieve::serve
