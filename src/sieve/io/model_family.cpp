#include "sieve/io/model_family.h"

#include "sieve/core/error.h"
#include "sieve/io/brief_text.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/trimodal_model_dir.h"

namespace sieve::io {
namespace {

constexpr std::string_view kKnownFamilies = "llama, sieve_trimodal";

}  // namespace

std::string model_family(const nlohmann::json& config, std::string_view source) {
  if (!config.is_object())
    core::throw_user_error("{}: expected a JSON object of model settings, got {}", source, config.type_name());
  const auto it = config.find("model_type");
  if (it == config.end()) return kLlamaFamily;
  if (!it->is_string())
    core::throw_user_error("{}: field 'model_type': expected a string ({}), got {}", source, kKnownFamilies,
                           brief(*it));
  return it->get<std::string>();
}

std::string model_family(const std::filesystem::path& dir) {
  SIEVE_USER_CHECK(std::filesystem::is_directory(dir), "model directory '{}' does not exist", dir.string());
  const std::filesystem::path config_file = dir / kConfigFile;
  return model_family(read_config_json(config_file), config_file.string());
}

std::unique_ptr<nn::Model> load_any_model(const std::filesystem::path& dir) {
  const std::string family = model_family(dir);
  if (family == kLlamaFamily) return load_model(dir);
  if (family == nn::kTriModalFamily) return load_trimodal_model(dir);
  core::throw_user_error("{}: model_type \"{}\" is not a family Sieve knows (known: {})",
                         (dir / kConfigFile).string(), brief_text(family), kKnownFamilies);
}

void save_any_model(const nn::Model& model, const std::filesystem::path& dir) {
  const std::string family = model.family();
  if (family == kLlamaFamily) {
    const auto* llama = dynamic_cast<const nn::LlamaForCausalLM*>(&model);
    SIEVE_CHECK(llama != nullptr, "save_any_model: a \"llama\" model that is not a LlamaForCausalLM");
    save_model(*llama, dir);
  } else if (family == nn::kTriModalFamily) {
    const auto* trimodal = dynamic_cast<const nn::TriModalModel*>(&model);
    SIEVE_CHECK(trimodal != nullptr, "save_any_model: a \"{}\" model that is not a TriModalModel", family);
    save_trimodal_model(*trimodal, dir);
  } else {
    SIEVE_CHECK(false, "save_any_model: no writer for model family '{}'", family);
  }
}

}  // namespace sieve::io
