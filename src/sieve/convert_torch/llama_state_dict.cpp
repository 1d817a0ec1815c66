#include "sieve/convert_torch/llama_state_dict.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_layout.h"
#include "sieve/io/model_limits.h"
#include "sieve/io/safetensors.h"

namespace sieve::convert_torch {
namespace {

constexpr std::string_view kTiedHead = "lm_head.weight";
constexpr std::string_view kEmbeddings = "model.embed_tokens.weight";
constexpr std::string_view kRotaryBuffer = ".self_attn.rotary_emb.inv_freq";

bool same_values(const core::Tensor& a, const core::Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data<float>(), b.data<float>(), a.nbytes()) == 0;
}

}  // namespace

ImportSummary import_llama_checkpoint(const TorchCheckpoint& checkpoint, const nlohmann::json& config_json,
                                      const std::string& config_source, const std::filesystem::path& out_dir) {
  const nn::LlamaConfig config = io::parse_llama_config(config_json, config_source);
  io::check_model_fits(config, config_source);
  const std::string& source = checkpoint.source_name();
  const std::vector<io::TensorSpec> specs = io::llama_parameters(config);
  std::map<std::string_view, const io::TensorSpec*> spec_by_name;
  for (const io::TensorSpec& spec : specs) spec_by_name.emplace(spec.name, &spec);

  // Match the checkpoint's tensors to the parameters before reading any data.
  ImportSummary summary;
  std::map<std::string_view, const PickledTensor*> found;
  const PickledTensor* tied_head = nullptr;
  std::set<std::string_view> dtypes;
  for (const PickledTensor& tensor : checkpoint.tensors()) {
    if (tensor.name.ends_with(kRotaryBuffer)) {
      summary.skipped.push_back(tensor.name + " (RoPE is computed from rope_theta)");
      continue;
    }
    if (tensor.name == kTiedHead && config.tie_word_embeddings) {
      tied_head = &tensor;
      continue;
    }
    const auto spec = spec_by_name.find(tensor.name);
    SIEVE_USER_CHECK(spec != spec_by_name.end(), "{}: unexpected tensor '{}' (not a parameter of the model {} describes{})",
                     source, tensor.name, config_source,
                     tensor.name == kTiedHead ? ": it ties lm_head to embed_tokens" : "");
    SIEVE_USER_CHECK(tensor.shape == spec->second->shape, "{}: tensor '{}' is {}, but {} needs {} ({})", source,
                     tensor.name, core::shape_string(tensor.shape), config_source,
                     core::shape_string(spec->second->shape), spec->second->fields);
    found.emplace(tensor.name, &tensor);
    dtypes.insert(checkpoint.storage_of(tensor).type.dtype_name);
  }
  for (const io::TensorSpec& spec : specs)
    SIEVE_USER_CHECK(found.contains(spec.name), "{}: no tensor '{}' (a parameter of the model {} describes)", source,
                     spec.name, config_source);

  std::vector<std::pair<std::string, core::Tensor>> tensors;
  for (const io::TensorSpec& spec : specs) tensors.emplace_back(spec.name, checkpoint.load_f32(*found.at(spec.name)));
  SIEVE_CHECK(tensors.front().first == kEmbeddings, "llama_parameters lists the embeddings first");
  if (tied_head != nullptr) {
    SIEVE_USER_CHECK(tied_head->shape == found.at(kEmbeddings)->shape &&
                         same_values(checkpoint.load_f32(*tied_head), tensors.front().second),
                     "{}: {} ties lm_head to embed_tokens, but the checkpoint's lm_head.weight differs from "
                     "model.embed_tokens.weight (set tie_word_embeddings to false to keep both)",
                     source, config_source);
    summary.skipped.push_back(std::string(kTiedHead) + " (the same values as " + std::string(kEmbeddings) + ")");
  }

  // Sieve's own quantization section would make the f32 directory read as a quantized one.
  nlohmann::json written = config_json;
  written.erase(io::kQuantizationSection);
  std::filesystem::create_directories(out_dir);
  core::write_file_atomically(out_dir / io::kConfigFile, io::llama_config_to_json(config, written).dump(2) + "\n");
  io::save_safetensors(out_dir / io::kWeightsFile, tensors, {{"format", "pt"}});
  summary.parameters = tensors.size();
  summary.dtypes.assign(dtypes.begin(), dtypes.end());
  return summary;
}

std::vector<std::pair<std::string, core::Tensor>> llama_state_dict(const nn::LlamaForCausalLM& model) {
  return model.named_parameters();
}

}  // namespace sieve::convert_torch
