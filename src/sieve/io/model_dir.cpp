#include "sieve/io/model_dir.h"

#include <set>
#include <unordered_map>

#include "sieve/io/model_config.h"
#include "sieve/io/model_family.h"
#include "sieve/io/model_layout.h"
#include "sieve/io/model_limits.h"
#include "sieve/io/safetensors.h"
#include "sieve/nn/models/trimodal/trimodal_model.h"

namespace sieve::io {
namespace {

// Past this many tensors a mismatch is reported by counts alone, without listing names.
constexpr std::int64_t kMaxTensorsToName = 1 << 20;

// The LLaMA side of check_weights_match: a header whose tensor count differs from a model too
// large to list is refused by counts, before the list is built.
void check_weights_fit_config(const nn::LlamaConfig& config, const SafetensorsFile& weights,
                              const std::string& described_by) {
  const auto& entries = weights.header().entries;
  const std::int64_t expected = llama_footprint(config, described_by).parameter_tensors;
  if (static_cast<std::int64_t>(entries.size()) != expected && expected > kMaxTensorsToName)
    core::throw_user_error("{}: holds {} tensors, but {} describes a model with {}", weights.path().string(),
                           entries.size(), described_by, expected);
  check_weights_match(llama_parameters(config), weights, described_by);
}

}  // namespace

void check_weights_match(std::span<const TensorSpec> specs, const SafetensorsFile& weights,
                         const std::string& described_by) {
  const std::string source = weights.path().string();
  const auto& entries = weights.header().entries;
  std::unordered_map<std::string_view, const SafetensorsEntry*> by_name;
  for (const auto& entry : entries) by_name.emplace(entry.name, &entry);
  std::set<std::string_view> names;
  for (const TensorSpec& spec : specs) {
    names.insert(spec.name);
    const auto it = by_name.find(spec.name);
    SIEVE_USER_CHECK(it != by_name.end(), "{}: no tensor '{}' (a parameter of the model {} describes)", source,
                     spec.name, described_by);
    const SafetensorsEntry& entry = *it->second;
    SIEVE_USER_CHECK(entry.dtype == core::DType::f32 && entry.shape == spec.shape,
                     "{}: tensor '{}' is {} {}, but {} needs F32 {} ({})", source, spec.name,
                     core::dtype_safetensors_name(entry.dtype), core::shape_string(entry.shape), described_by,
                     core::shape_string(spec.shape), spec.fields);
  }
  for (const auto& entry : entries)
    SIEVE_USER_CHECK(names.contains(entry.name), "{}: unexpected tensor '{}' (not a parameter of the model {} describes)",
                     source, entry.name, described_by);
}

void copy_parameters(nn::Module& module, const SafetensorsFile& file) {
  const std::string source = file.path().string();
  std::set<std::string> expected;
  for (auto& [name, parameter] : module.named_parameters()) {
    expected.insert(name);
    SIEVE_USER_CHECK(file.contains(name), "{}: no tensor '{}' (the model expects it)", source, name);
    const core::Tensor stored = file.tensor(name);
    SIEVE_USER_CHECK(stored.shape() == parameter.shape() && stored.dtype() == parameter.dtype(),
                     "{}: tensor '{}' is {} {}, the model expects {} {}", source, name,
                     core::dtype_name(stored.dtype()), core::shape_string(stored.shape()),
                     core::dtype_name(parameter.dtype()), core::shape_string(parameter.shape()));
    parameter.copy_from(stored);
  }
  for (const auto& entry : file.header().entries)
    SIEVE_USER_CHECK(expected.contains(entry.name), "{}: unexpected tensor '{}' (not a parameter of this model)",
                     source, entry.name);
}

void load_parameters(nn::Module& module, const std::filesystem::path& safetensors_file) {
  copy_parameters(module, SafetensorsFile(safetensors_file));
}

void save_parameters(const nn::Module& module, const std::filesystem::path& safetensors_file) {
  save_safetensors(safetensors_file, module.named_parameters(), {{"format", "pt"}});
}

std::unique_ptr<nn::LlamaForCausalLM> load_model(const std::filesystem::path& dir,
                                                 const std::function<void(nn::LlamaConfig&)>& adjust) {
  SIEVE_USER_CHECK(std::filesystem::is_directory(dir), "model directory '{}' does not exist", dir.string());
  const std::string config_file = (dir / kConfigFile).string();
  const nlohmann::json json = read_config_json(config_file);
  const std::string family = model_family(json, config_file);
  SIEVE_USER_CHECK(family != nn::kTriModalFamily,
                   "'{}' is a {} model directory (text, images and audio): this needs a LLaMA model directory",
                   dir.string(), family);
  SIEVE_USER_CHECK(!json.contains(kQuantizationSection),
                   "{} describes a quantized model ('{}' section): it runs with eval, generate, inspect and bench, "
                   "but this needs the f32 model it was quantized from",
                   config_file, kQuantizationSection);
  nn::LlamaConfig config = parse_llama_config(json, config_file);
  check_model_fits(config, config_file);
  std::string described_by = config_file;
  if (adjust) {
    adjust(config);
    described_by += " (with the command-line attention settings)";
    check_model_fits(config, described_by);
  }
  const SafetensorsFile weights(dir / kWeightsFile);
  check_weights_fit_config(config, weights, described_by);
  std::unique_ptr<nn::LlamaForCausalLM> model;
  {
    nn::SkipParameterInitGuard skip_init;  // every parameter is read from the file just below
    model = std::make_unique<nn::LlamaForCausalLM>(config, 0);
  }
  copy_parameters(*model, weights);
  return model;
}

void save_model(const nn::LlamaForCausalLM& model, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  save_llama_config(dir / kConfigFile, model.config());
  save_parameters(model, dir / kWeightsFile);
}

}  // namespace sieve::io
