#include "sieve/io/model_dir.h"

#include <set>

#include "sieve/io/model_config.h"
#include "sieve/io/safetensors.h"

namespace sieve::io {

void load_parameters(nn::Module& module, const std::filesystem::path& safetensors_file) {
  SafetensorsFile file(safetensors_file);
  std::set<std::string> expected;
  for (auto& [name, parameter] : module.named_parameters()) {
    expected.insert(name);
    SIEVE_USER_CHECK(file.contains(name), "{}: no tensor '{}' (the model expects it)", safetensors_file.string(),
                     name);
    const core::Tensor stored = file.tensor(name);
    SIEVE_USER_CHECK(stored.shape() == parameter.shape() && stored.dtype() == parameter.dtype(),
                     "{}: tensor '{}' is {} {}, the model expects {} {}", safetensors_file.string(), name,
                     core::dtype_name(stored.dtype()), core::shape_string(stored.shape()),
                     core::dtype_name(parameter.dtype()), core::shape_string(parameter.shape()));
    parameter.copy_from(stored);
  }
  for (const auto& entry : file.header().entries)
    SIEVE_USER_CHECK(expected.contains(entry.name), "{}: unexpected tensor '{}' (not a parameter of this model)",
                     safetensors_file.string(), entry.name);
}

void save_parameters(const nn::Module& module, const std::filesystem::path& safetensors_file) {
  save_safetensors(safetensors_file, module.named_parameters(), {{"format", "pt"}});
}

std::unique_ptr<nn::LlamaForCausalLM> load_model(const std::filesystem::path& dir,
                                                 const std::function<void(nn::LlamaConfig&)>& adjust) {
  SIEVE_USER_CHECK(std::filesystem::is_directory(dir), "model directory '{}' does not exist", dir.string());
  nn::LlamaConfig config = load_llama_config(dir / kConfigFile);
  if (adjust) adjust(config);
  auto model = std::make_unique<nn::LlamaForCausalLM>(config, 0);
  load_parameters(*model, dir / kWeightsFile);
  return model;
}

void save_model(const nn::LlamaForCausalLM& model, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  save_llama_config(dir / kConfigFile, model.config());
  save_parameters(model, dir / kWeightsFile);
}

}  // namespace sieve::io
