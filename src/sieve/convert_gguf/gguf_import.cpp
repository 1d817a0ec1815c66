#include "sieve/convert_gguf/gguf_import.h"

#include <set>
#include <utility>
#include <vector>

#include "sieve/convert_gguf/gguf_blocks.h"
#include "sieve/convert_gguf/gguf_reader.h"
#include "sieve/convert_gguf/gguf_tokenizer.h"
#include "sieve/convert_gguf/llama_gguf_metadata.h"
#include "sieve/convert_gguf/llama_gguf_names.h"
#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_layout.h"
#include "sieve/io/model_limits.h"
#include "sieve/io/safetensors.h"

namespace sieve::convert_gguf {
namespace {

namespace fs = std::filesystem;
using core::Tensor;

struct PlannedTensor {
  const io::TensorSpec* spec;
  const GgufTensorInfo* info;
};

// Pairs every parameter the config implies with its GGUF tensor, all checked before decoding.
std::vector<PlannedTensor> plan_tensors(const GgufHeader& header, const std::vector<io::TensorSpec>& specs,
                                        std::string_view source) {
  std::vector<PlannedTensor> plan;
  std::set<std::string> expected;
  for (const io::TensorSpec& spec : specs) {
    const auto name = gguf_tensor_name(spec.name);
    SIEVE_CHECK(name.has_value(), "no GGUF name for {}", spec.name);
    const GgufTensorInfo* info = header.tensor(*name);
    if (info == nullptr) core::throw_user_error("{}: tensor '{}' ({}) is missing", source, *name, spec.name);
    const std::vector<std::int64_t> dims(spec.shape.rbegin(), spec.shape.rend());
    if (info->dims != dims)
      core::throw_user_error("{}: tensor '{}' has dims {}, but the metadata implies {} ({})", source, *name,
                             core::shape_string(info->dims), core::shape_string(dims), spec.fields);
    if (!can_decode(info->type))
      core::throw_user_error(
          "{}: tensor '{}' is {}; Sieve imports f32, f16, bf16, q8_0 and q4_0 tensors (requantize the file to one of "
          "those with llama.cpp's llama-quantize)",
          source, *name, ggml_type_name(info->type));
    expected.insert(*name);
    plan.push_back({&spec, info});
  }
  for (const GgufTensorInfo& info : header.tensors)
    if (!expected.contains(info.name))
      core::throw_user_error("{}: tensor '{}' has no place in a Sieve LLaMA model (unsupported feature?)", source,
                             info.name);
  return plan;
}

Tensor decode_tensor(std::span<const std::byte> file, const GgufHeader& header, const PlannedTensor& planned,
                     const nn::LlamaConfig& config) {
  const io::TensorSpec& spec = *planned.spec;
  Tensor out = Tensor::empty(spec.shape);
  decode_elements(planned.info->type, file.subspan(header.data_start + planned.info->offset, planned.info->bytes),
                  planned.info->numel, out.data<float>());
  const RopeProjection projection = rope_projection_of(spec.name);
  if (projection == RopeProjection::none) return out;
  const std::int64_t heads = projection == RopeProjection::query ? config.num_attention_heads : config.num_key_value_heads;
  Tensor restored = Tensor::empty(spec.shape);
  permute_rope_rows(out.data<float>(), restored.data<float>(), heads, config.head_dim(), spec.shape[1], false);
  return restored;
}

}  // namespace

ImportedModel read_llama_gguf(std::span<const std::byte> file, const GgufHeader& header, std::string_view source_name) {
  const std::string source(source_name);
  ImportedModel model;
  model.config = read_llama_config(header, source);
  // Held to what config.json would have to pass, then to the memory limit.
  model.config = io::parse_llama_config(io::llama_config_to_json(model.config), source);
  io::check_model_fits(model.config, source);
  const SentencePieceModel vocabulary = tokenizer_from_gguf(header, source);
  if (static_cast<std::int64_t>(vocabulary.pieces.size()) != model.config.vocab_size)
    core::throw_user_error("{}: tokenizer.ggml.tokens has {} tokens for {} embedding rows", source,
                           vocabulary.pieces.size(), model.config.vocab_size);
  model.tokenizer_model = write_sentencepiece_model(vocabulary);
  try {
    (void)data::Tokenizer::from_serialized(model.tokenizer_model);
  } catch (const core::UserError& error) {
    core::throw_user_error("{}: the vocabulary does not make a usable SentencePiece model: {}", source, error.what());
  }
  const std::vector<io::TensorSpec> specs = io::llama_parameters(model.config);
  const std::vector<PlannedTensor> plan = plan_tensors(header, specs, source);
  model.tensors.reserve(plan.size());
  for (const PlannedTensor& planned : plan) {
    ++model.tensors_by_type[std::string(ggml_type_name(planned.info->type))];
    model.tensors.emplace_back(planned.spec->name, decode_tensor(file, header, planned, model.config));
  }
  return model;
}

GgufImportSummary import_gguf(const fs::path& gguf_file, const fs::path& out) {
  const GgufFile file(gguf_file);
  const ImportedModel model = read_llama_gguf(file.bytes(), file.header(), gguf_file.string());
  fs::create_directories(out);
  io::save_safetensors(out / io::kWeightsFile, model.tensors);
  io::save_llama_config(out / io::kConfigFile, model.config);
  core::write_file_atomically(out / io::kTokenizerFile, model.tokenizer_model);
  return {model.config, model.tensors_by_type};
}

}  // namespace sieve::convert_gguf
