#include "sieve/io/adapters.h"

#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "sieve/io/model_dir.h"
#include "sieve/io/safetensors.h"

namespace sieve::io {
namespace {

bool has_adapters(const nn::Module& model) { return !nn::lora_parameters(model).empty(); }

const std::string& metadata_value(const SafetensorsFile& file, const std::string& key) {
  const auto it = file.metadata().find(key);
  SIEVE_USER_CHECK(it != file.metadata().end(), "{}: not a LoRA adapter file (no '{}' in its metadata)",
                   file.path().string(), key);
  return it->second;
}

template <typename T>
T parse_number(const SafetensorsFile& file, const std::string& key) {
  const std::string& text = metadata_value(file, key);
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  SIEVE_USER_CHECK(error == std::errc() && end == text.data() + text.size(), "{}: metadata '{}' = '{}' is not a number",
                   file.path().string(), key, text);
  return value;
}

nn::LoraOptions options_of(const SafetensorsFile& file) {
  SIEVE_USER_CHECK(metadata_value(file, "sieve.adapter") == "lora", "{}: adapter kind '{}' is not 'lora'",
                   file.path().string(), metadata_value(file, "sieve.adapter"));
  nn::LoraOptions options;
  options.rank = parse_number<std::int64_t>(file, "lora.rank");
  options.alpha = parse_number<double>(file, "lora.alpha");
  options.dropout = parse_number<float>(file, "lora.dropout");
  options.targets = metadata_value(file, "lora.targets");
  SIEVE_USER_CHECK(options.rank >= 1, "{}: LoRA rank {} must be at least 1", file.path().string(), options.rank);
  SIEVE_USER_CHECK(std::isfinite(options.alpha), "{}: LoRA alpha {} must be a finite number", file.path().string(),
                   options.alpha);
  SIEVE_USER_CHECK(options.dropout >= 0.0f && options.dropout < 1.0f, "{}: LoRA dropout {} must be in [0, 1)",
                   file.path().string(), options.dropout);
  return options;
}

}  // namespace

void save_adapters(const nn::Module& model, const nn::LoraOptions& options, const std::filesystem::path& file) {
  const nn::NamedTensors tensors = nn::lora_parameters(model);
  SIEVE_USER_CHECK(!tensors.empty(), "the model has no LoRA adapters to save to {}", file.string());
  save_safetensors(file, tensors,
                   {{"format", "pt"},
                    {"sieve.adapter", "lora"},
                    {"lora.rank", std::to_string(options.rank)},
                    {"lora.alpha", fmt::format("{}", options.alpha)},
                    {"lora.dropout", fmt::format("{}", options.dropout)},
                    {"lora.targets", options.targets}});
}

nn::LoraOptions read_adapter_options(const std::filesystem::path& file) { return options_of(SafetensorsFile(file)); }

nn::LoraOptions load_adapters(nn::Module& model, const std::filesystem::path& file) {
  const SafetensorsFile stored(file);
  const nn::LoraOptions options = options_of(stored);
  if (!has_adapters(model)) nn::apply_lora(model, options);
  std::set<std::string> expected;
  for (auto& [name, parameter] : nn::lora_parameters(model)) {
    expected.insert(name);
    SIEVE_USER_CHECK(stored.contains(name), "{}: no tensor '{}' (the model's adapters expect it)", file.string(), name);
    const core::Tensor tensor = stored.tensor(name);
    SIEVE_USER_CHECK(tensor.shape() == parameter.shape() && tensor.dtype() == parameter.dtype(),
                     "{}: adapter tensor '{}' is {} {}, the model expects {} {}", file.string(), name,
                     core::dtype_name(tensor.dtype()), core::shape_string(tensor.shape()),
                     core::dtype_name(parameter.dtype()), core::shape_string(parameter.shape()));
    parameter.copy_from(tensor);
  }
  for (const auto& entry : stored.header().entries)
    SIEVE_USER_CHECK(expected.contains(entry.name), "{}: unexpected tensor '{}' (not an adapter of this model)",
                     file.string(), entry.name);
  return options;
}

void save_merged_model(const nn::LlamaForCausalLM& model, const std::filesystem::path& dir) {
  // The base weights go into a plain model (no adapter children) and the unmerged adapters'
  // deltas are added there, so `model` is not touched at all.
  nn::LlamaForCausalLM plain(model.config(), 0);
  std::map<std::string, core::Tensor> weights;
  for (auto& [name, parameter] : plain.named_parameters()) weights.emplace(name, parameter);
  for (auto& [name, tensor] : model.named_parameters())
    if (!nn::is_lora_parameter(name)) weights.at(name).copy_from(tensor);
  for (auto& [path, module] : model.named_modules()) {
    const auto* linear = dynamic_cast<const nn::Linear*>(module.get());
    if (linear == nullptr || linear->adapter() == nullptr || linear->adapter()->merged()) continue;
    const core::Tensor target = weights.at(path + ".weight");
    const core::Tensor delta = linear->adapter()->delta();
    float* w = target.data<float>();
    const float* d = delta.data<float>();
    for (std::int64_t i = 0; i < target.numel(); ++i) w[i] += d[i];
  }
  save_model(plain, dir);
}

}  // namespace sieve::io
