#include "sieve/convert_gguf/gguf_export.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "sieve/compress/quantized_linear.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/convert_gguf/gguf_blocks.h"
#include "sieve/convert_gguf/gguf_tokenizer.h"
#include "sieve/convert_gguf/gguf_writer.h"
#include "sieve/convert_gguf/llama_gguf_metadata.h"
#include "sieve/convert_gguf/llama_gguf_names.h"
#include "sieve/core/dtype.h"
#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_layout.h"

namespace sieve::convert_gguf {
namespace {

namespace fs = std::filesystem;
using core::Tensor;

constexpr std::int64_t kQuantBlock = 32;

std::string read_file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  SIEVE_USER_CHECK(in.good(), "cannot read {}", path.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void check_dense(const nn::LlamaConfig& config, const fs::path& dir) {
  const std::optional<std::int64_t> layer = config.first_non_dense_layer();
  if (!layer) return;
  core::throw_user_error(
      "{}: layer {} runs '{}' attention, which GGUF's llama architecture cannot carry: llama.cpp attends "
      "to every earlier token and has no place for the importance scorer, so the file would compute "
      "something else. Export a dense model (or train one with --attention dense).",
      (dir / io::kConfigFile).string(), *layer, config.attention.kind(*layer));
}

// A pruned model's layers differ in width; it carries one head count and one feed-forward length for all layers.
void check_uniform_widths(const nn::LlamaConfig& config, const fs::path& dir) {
  SIEVE_USER_CHECK(!config.pruned(),
                   "{}: a structurally pruned model (its 'pruning' section gives each layer its own head count "
                   "and MLP width) cannot be exported to GGUF's llama architecture: it carries one head count and one feed-forward length for all layers. Use the model "
                   "directory with sieve eval / generate / serve, or export an unpruned model",
                   (dir / io::kConfigFile).string());
}

// The f32 weight [M, K] a quantized Linear format stands for.
Tensor dequantized_weight(const nn::LinearWeightFormat& format) {
  if (const auto* int8 = dynamic_cast<const compress::Int8LinearFormat*>(&format)) {
    const std::int64_t M = int8->q().size(0), K = int8->q().size(1);
    Tensor w = Tensor::empty({M, K});
    const auto* q = int8->q().data<std::int8_t>();
    const auto* scales = int8->scales().data<float>();
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t k = 0; k < K; ++k) w.data<float>()[m * K + k] = scales[m] * static_cast<float>(q[m * K + k]);
    return w;
  }
  const auto* int4 = dynamic_cast<const compress::Int4LinearFormat*>(&format);
  SIEVE_CHECK(int4 != nullptr, "unknown Linear weight format {}", format.describe());
  const std::int64_t M = int4->packed().size(0), K = int4->in_features(), G = int4->group_size();
  const std::int64_t row_bytes = int4->packed().size(1), groups = int4->scales().size(1);
  Tensor w = Tensor::empty({M, K});
  const auto* packed = int4->packed().data<std::uint8_t>();
  const auto* scales = int4->scales().data<float>();
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t k = 0; k < K; ++k) {
      const int nibble = (packed[m * row_bytes + k / 2] >> (4 * (k % 2))) & 0x0F;
      w.data<float>()[m * K + k] = scales[m * groups + k / G] * static_cast<float>(nibble - 8);
    }
  return w;
}

// q8_0 blocks holding an INT8 layer's q as they are, each row's scale as its blocks' d.
std::vector<std::byte> int8_as_q8_0(const compress::Int8LinearFormat& int8) {
  const std::int64_t M = int8.q().size(0), K = int8.q().size(1), blocks = K / kQuantBlock;
  std::vector<std::byte> out(static_cast<std::size_t>(M * blocks * 34));
  const auto* q = int8.q().data<std::int8_t>();
  for (std::int64_t m = 0; m < M; ++m) {
    const std::uint16_t d = core::f32_to_f16_bits(int8.scales().data<float>()[m]);
    for (std::int64_t b = 0; b < blocks; ++b) {
      std::byte* block = out.data() + (m * blocks + b) * 34;
      std::memcpy(block, &d, 2);
      std::memcpy(block + 2, q + m * K + b * kQuantBlock, kQuantBlock);
    }
  }
  return out;
}

// q4_0 blocks holding an INT4 layer's nibbles (both are value + 8 in four bits) and its group
// scales as d; only the order of the nibbles within a block differs.
std::vector<std::byte> int4_as_q4_0(const compress::Int4LinearFormat& int4) {
  const std::int64_t M = int4.packed().size(0), K = int4.in_features(), G = int4.group_size();
  const std::int64_t row_bytes = int4.packed().size(1), groups = int4.scales().size(1), blocks = K / kQuantBlock;
  std::vector<std::byte> out(static_cast<std::size_t>(M * blocks * 18));
  const auto* packed = int4.packed().data<std::uint8_t>();
  const auto nibble = [&](std::int64_t m, std::int64_t k) {
    return static_cast<std::uint8_t>((packed[m * row_bytes + k / 2] >> (4 * (k % 2))) & 0x0F);
  };
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t b = 0; b < blocks; ++b) {
      std::byte* block = out.data() + (m * blocks + b) * 18;
      const std::uint16_t d = core::f32_to_f16_bits(int4.scales().data<float>()[m * groups + b * kQuantBlock / G]);
      std::memcpy(block, &d, 2);
      for (std::int64_t j = 0; j < kQuantBlock / 2; ++j) {
        const std::int64_t k = b * kQuantBlock + j;
        block[2 + j] = static_cast<std::byte>(nibble(m, k) | (nibble(m, k + kQuantBlock / 2) << 4));
      }
    }
  return out;
}

struct ModelSource {
  std::unique_ptr<nn::LlamaForCausalLM> model;
  std::map<std::string, const nn::Module*> modules;
  std::map<std::string, Tensor> parameters;
};

ModelSource load_source(const fs::path& dir) {
  ModelSource source;
  source.model = compress::is_quantized_model_dir(dir) ? compress::load_quantized_model(dir) : io::load_model(dir);
  for (const auto& [name, module] : source.model->named_modules()) source.modules.emplace(name, module.get());
  for (auto& [name, tensor] : source.model->named_parameters()) source.parameters.emplace(name, tensor);
  return source;
}

struct Encoded {
  GgmlType type;
  std::vector<std::byte> bytes;
  std::string how;  // a note when the weight did not take the plain path
};

// The GGUF bytes of one parameter of shape [M, K] (or [K]) as `type`, rows permuted for q/k.
Encoded encode_parameter(const ModelSource& source, const nn::LlamaConfig& config, const io::TensorSpec& spec,
                         GgmlType type) {
  const bool matrix = spec.shape.size() == 2;
  const std::int64_t M = matrix ? spec.shape[0] : 1, K = spec.shape.back();
  if (!matrix) type = GgmlType::f32;  // norms stay f32, as llama.cpp's converter keeps them
  Encoded encoded{type, {}, {}};
  if (type != GgmlType::f32 && type != GgmlType::f16 && K % kQuantBlock != 0) {
    encoded.type = GgmlType::f16;
    encoded.how = fmt::format("{}: rows of {} are not whole {}-element blocks, stored as f16", spec.name, K, kQuantBlock);
  }
  const RopeProjection projection = rope_projection_of(spec.name);
  const std::int64_t heads = projection == RopeProjection::query ? config.num_attention_heads : config.num_key_value_heads;

  // A quantized layer whose format maps onto the requested type as it is.
  const std::string module_name = spec.name.substr(0, spec.name.size() - std::string_view(".weight").size());
  const auto module = source.modules.find(module_name);
  const auto* linear = module != source.modules.end() ? dynamic_cast<const nn::Linear*>(module->second) : nullptr;
  const nn::LinearWeightFormat* format = linear != nullptr ? linear->weight_format() : nullptr;
  if (format != nullptr && encoded.type == type) {
    std::vector<std::byte> direct;
    if (const auto* int8 = dynamic_cast<const compress::Int8LinearFormat*>(format); int8 && type == GgmlType::q8_0)
      direct = int8_as_q8_0(*int8);
    if (const auto* int4 = dynamic_cast<const compress::Int4LinearFormat*>(format); int4 && type == GgmlType::q4_0)
      direct = int4_as_q4_0(*int4);
    if (!direct.empty()) {
      encoded.bytes = direct;
      if (projection != RopeProjection::none)
        permute_rope_row_bytes(direct.data(), encoded.bytes.data(), heads, config.head_dim(),
                               static_cast<std::int64_t>(direct.size()) / M, true);
      return encoded;
    }
  }
  Tensor weight;
  if (format != nullptr) {
    weight = dequantized_weight(*format);
  } else {
    const auto parameter = source.parameters.find(spec.name);
    SIEVE_CHECK(parameter != source.parameters.end(), "parameter {} missing from the built model", spec.name);
    weight = parameter->second.contiguous();
  }
  const float* values = weight.data<float>();
  std::vector<float> permuted;
  if (projection != RopeProjection::none) {
    permuted.resize(static_cast<std::size_t>(M * K));
    permute_rope_rows(values, permuted.data(), heads, config.head_dim(), K, true);
    values = permuted.data();
  }
  encoded.bytes = encode_rows(encoded.type, values, M, K);
  return encoded;
}

}  // namespace

GgmlType gguf_export_type_from_name(std::string_view name) {
  if (name == "f32") return GgmlType::f32;
  if (name == "f16") return GgmlType::f16;
  if (name == "q8_0") return GgmlType::q8_0;
  if (name == "q4_0") return GgmlType::q4_0;
  core::throw_user_error("--type must be f32, f16, q8_0 or q4_0, got '{}'", name);
}

GgufExportSummary export_gguf(const fs::path& model_dir, const fs::path& out, GgmlType type) {
  const fs::path tokenizer_file = model_dir / io::kTokenizerFile;
  SIEVE_USER_CHECK(fs::is_directory(model_dir), "--model: no model directory '{}'", model_dir.string());
  SIEVE_USER_CHECK(fs::is_regular_file(tokenizer_file),
                   "{} is missing: a GGUF file carries the vocabulary, and llama.cpp cannot run a model without it",
                   tokenizer_file.string());
  const std::string tokenizer_bytes = read_file_bytes(tokenizer_file);
  (void)data::Tokenizer::from_serialized(tokenizer_bytes);  // a loadable SentencePiece model, or a UserError
  const SentencePieceModel tokenizer = read_sentencepiece_model(tokenizer_bytes, tokenizer_file.string());

  const ModelSource source = load_source(model_dir);
  const nn::LlamaConfig& config = source.model->config();
  check_dense(config, model_dir);
  check_uniform_widths(config, model_dir);

  GgufExportSummary summary;
  if (tokenizer.model_type != 2)
    summary.notes.push_back(
        "the tokenizer is not BPE: llama.cpp tokenizes SentencePiece vocabularies by score-ordered merges, which may "
        "split some words differently from this tokenizer");
  GgufWriter writer;
  std::string name = fs::weakly_canonical(model_dir).filename().string();
  write_llama_metadata(writer, config, name.empty() ? "sieve" : name, type);
  write_tokenizer_metadata(writer, tokenizer, config.vocab_size);
  for (const io::TensorSpec& spec : io::llama_parameters(config)) {
    const auto gguf_name = gguf_tensor_name(spec.name);
    SIEVE_CHECK(gguf_name.has_value(), "no GGUF name for {}", spec.name);
    Encoded encoded = encode_parameter(source, config, spec, type);
    if (!encoded.how.empty()) summary.notes.push_back(encoded.how);
    std::vector<std::int64_t> dims(spec.shape.rbegin(), spec.shape.rend());  // GGUF lists the innermost first
    ++summary.tensors_by_type[std::string(ggml_type_name(encoded.type))];
    writer.add_tensor(*gguf_name, std::move(dims), encoded.type, std::move(encoded.bytes));
  }
  writer.write(out);
  summary.file_bytes = fs::file_size(out);
  return summary;
}

}  // namespace sieve::convert_gguf
