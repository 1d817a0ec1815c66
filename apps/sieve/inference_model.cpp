#include "apps/sieve/inference_model.h"

#include <cstdio>

#include "sieve/io/model_dir.h"

namespace sieve::apps {

void add_inference_model_flags(CLI::App* command, InferenceModelFlags& flags) {
  add_attention_flags(command, flags.attention);
}

std::unique_ptr<nn::LlamaForCausalLM> load_inference_model(const std::filesystem::path& dir,
                                                           const InferenceModelFlags& flags) {
  auto model =
      io::load_model(dir, [&](nn::LlamaConfig& config) { apply_attention_flags(flags.attention, config.attention); });
  const std::string source =
      flags.attention.dense_below ? std::string("--sparse-dense-below") : (dir / io::kConfigFile).string();
  if (const std::string note = sparse_mode_note(model->config(), source); !note.empty())
    std::fprintf(stderr, "%s\n", note.c_str());
  model->set_training(false);
  return model;
}

}  // namespace sieve::apps
