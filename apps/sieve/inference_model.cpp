#include "apps/sieve/inference_model.h"

#include <cstdio>

#include "sieve/compress/quantized_model_dir.h"
#include "sieve/core/error.h"
#include "sieve/io/adapters.h"
#include "sieve/io/model_dir.h"

namespace sieve::apps {

void add_inference_model_flags(CLI::App* command, InferenceModelFlags& flags) {
  add_attention_flags(command, flags.attention);
  command->add_option("--adapter", flags.adapter,
                      "LoRA adapters to apply to the model: the adapter.safetensors that finetune --lora wrote "
                      "for this base model");
}

std::unique_ptr<nn::LlamaForCausalLM> load_model_dir(const std::filesystem::path& dir,
                                                     const std::function<void(nn::LlamaConfig&)>& adjust) {
  if (compress::is_quantized_model_dir(dir)) return compress::load_quantized_model(dir, adjust);
  return io::load_model(dir, adjust);
}

std::unique_ptr<nn::LlamaForCausalLM> load_inference_model(const std::filesystem::path& dir,
                                                           const InferenceModelFlags& flags) {
  const bool quantized = compress::is_quantized_model_dir(dir);
  auto model =
      load_model_dir(dir, [&](nn::LlamaConfig& config) { apply_attention_flags(flags.attention, config.attention); });
  const std::string source =
      flags.attention.dense_below ? std::string("--sparse-dense-below") : (dir / io::kConfigFile).string();
  if (const std::string note = sparse_mode_note(model->config(), source); !note.empty())
    std::fprintf(stderr, "%s\n", note.c_str());
  if (!flags.adapter.empty()) {
    SIEVE_USER_CHECK(std::filesystem::is_regular_file(flags.adapter), "--adapter: no file '{}'", flags.adapter);
    nn::LoraOptions options;
    try {
      options = io::load_adapters(*model, flags.adapter);
    } catch (const core::UserError& error) {  // say which model it did not fit
      core::throw_user_error("--adapter {} does not fit the model in {}: {}", flags.adapter, dir.string(),
                             error.what());
    }
    if (!quantized) nn::merge_lora(*model);
    std::fprintf(stderr, "LoRA adapters from %s: rank %lld, alpha %g on '%s'\n", flags.adapter.c_str(),
                 static_cast<long long>(options.rank), options.alpha, options.targets.c_str());
  }
  model->set_training(false);
  return model;
}

}  // namespace sieve::apps
