#include "sieve/convert_gguf/llama_gguf_metadata.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "sieve/core/error.h"

namespace sieve::convert_gguf {
namespace {

// llama.cpp's llama_ftype for a file whose large tensors are `type`.
std::uint32_t file_type_of(GgmlType type) {
  switch (type) {
    case GgmlType::f16: return 1;   // LLAMA_FTYPE_MOSTLY_F16
    case GgmlType::q4_0: return 2;  // LLAMA_FTYPE_MOSTLY_Q4_0
    case GgmlType::q8_0: return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
    default: return 0;              // LLAMA_FTYPE_ALL_F32
  }
}

std::uint32_t as_u32(std::int64_t value) { return static_cast<std::uint32_t>(value); }

const GgufValue& require(const GgufHeader& header, const std::string& key, std::string_view source) {
  const GgufValue* value = header.find(key);
  if (value == nullptr) core::throw_user_error("{}: the metadata key '{}' is missing", source, key);
  return *value;
}

std::int64_t require_count(const GgufHeader& header, const std::string& key, std::string_view source) {
  const auto value = require(header, key, source).integer();
  if (!value || *value < 1 || *value > (std::int64_t{1} << 31))
    core::throw_user_error("{}: metadata '{}' must be an integer in [1, 2^31]", source, key);
  return *value;
}

// An f32 value as the shortest decimal that reads back as the same f32 (1e-6, not
// 9.99999997e-07), so config.json keeps the number a person wrote; Sieve computes in f32 anyway.
double shortest_decimal(double value) {
  if (static_cast<double>(static_cast<float>(value)) != value) return value;  // an f64 value
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof(text), static_cast<float>(value));
  return error == std::errc() ? std::strtod(std::string(text, end).c_str(), nullptr) : value;
}

double require_positive(const GgufHeader& header, const std::string& key, std::string_view source) {
  const auto value = require(header, key, source).real();
  if (!value || !std::isfinite(*value) || *value <= 0.0)
    core::throw_user_error("{}: metadata '{}' must be a finite number > 0", source, key);
  return shortest_decimal(*value);
}

// The tensor `name` must be there with dims `dims` (GGUF order).
void expect_dims(const GgufHeader& header, const std::string& name, std::initializer_list<std::int64_t> dims,
                 std::string_view source) {
  const GgufTensorInfo* tensor = header.tensor(name);
  if (tensor == nullptr) core::throw_user_error("{}: tensor '{}' is missing", source, name);
  if (!std::equal(tensor->dims.begin(), tensor->dims.end(), dims.begin(), dims.end())) {
    std::string want, got;
    for (const auto d : dims) want += (want.empty() ? "" : ", ") + std::to_string(d);
    for (const auto d : tensor->dims) got += (got.empty() ? "" : ", ") + std::to_string(d);
    core::throw_user_error("{}: tensor '{}' has dims [{}], but the metadata implies [{}]", source, name, got, want);
  }
}

}  // namespace

void write_llama_metadata(GgufWriter& writer, const nn::LlamaConfig& c, std::string_view model_name,
                          GgmlType main_type) {
  writer.set("general.architecture", GgufValue::string("llama"));
  writer.set("general.name", GgufValue::string(std::string(model_name)));
  writer.set("general.file_type", GgufValue::u32(file_type_of(main_type)));
  if (main_type == GgmlType::q8_0 || main_type == GgmlType::q4_0)
    writer.set("general.quantization_version", GgufValue::u32(2));  // GGML_QNT_VERSION
  writer.set("llama.vocab_size", GgufValue::u32(as_u32(c.vocab_size)));
  writer.set("llama.context_length", GgufValue::u32(as_u32(c.max_position_embeddings)));
  writer.set("llama.embedding_length", GgufValue::u32(as_u32(c.hidden_size)));
  writer.set("llama.block_count", GgufValue::u32(as_u32(c.num_hidden_layers)));
  writer.set("llama.feed_forward_length", GgufValue::u32(as_u32(c.intermediate_size)));
  writer.set("llama.attention.head_count", GgufValue::u32(as_u32(c.num_attention_heads)));
  writer.set("llama.attention.head_count_kv", GgufValue::u32(as_u32(c.num_key_value_heads)));
  writer.set("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(c.rms_norm_eps)));
  writer.set("llama.rope.freq_base", GgufValue::f32(static_cast<float>(c.rope_theta)));
  writer.set("llama.rope.dimension_count", GgufValue::u32(as_u32(c.head_dim())));
}

nn::LlamaConfig read_llama_config(const GgufHeader& header, std::string_view source) {
  const std::string* architecture = require(header, "general.architecture", source).text();
  if (architecture == nullptr || *architecture != "llama")
    core::throw_user_error("{}: general.architecture is '{}'; Sieve imports the 'llama' architecture only", source,
                           architecture != nullptr ? *architecture : "(not a string)");
  nn::LlamaConfig c;
  c.max_position_embeddings = require_count(header, "llama.context_length", source);
  c.hidden_size = require_count(header, "llama.embedding_length", source);
  c.num_hidden_layers = require_count(header, "llama.block_count", source);
  c.intermediate_size = require_count(header, "llama.feed_forward_length", source);
  c.num_attention_heads = require_count(header, "llama.attention.head_count", source);
  c.num_key_value_heads = header.find("llama.attention.head_count_kv") != nullptr
                              ? require_count(header, "llama.attention.head_count_kv", source)
                              : c.num_attention_heads;
  c.rms_norm_eps = require_positive(header, "llama.attention.layer_norm_rms_epsilon", source);
  c.rope_theta = header.find("llama.rope.freq_base") != nullptr ? require_positive(header, "llama.rope.freq_base", source)
                                                                : 10000.0;
  if (c.hidden_size % c.num_attention_heads != 0 || c.num_attention_heads % c.num_key_value_heads != 0)
    core::throw_user_error("{}: embedding_length {} / head_count {} / head_count_kv {} do not divide evenly", source,
                           c.hidden_size, c.num_attention_heads, c.num_key_value_heads);
  const std::int64_t head_dim = c.head_dim();
  // Keys whose values would make llama.cpp compute something Sieve does not.
  for (const char* key : {"llama.rope.dimension_count", "llama.attention.key_length", "llama.attention.value_length"})
    if (header.find(key) != nullptr && require_count(header, key, source) != head_dim)
      core::throw_user_error("{}: {} is {}, but Sieve rotates and attends over whole heads of {}", source, key,
                             require_count(header, key, source), head_dim);
  if (const GgufValue* scaling = header.find("llama.rope.scaling.type")) {
    const std::string* type = scaling->text();
    if (type == nullptr || *type != "none")
      core::throw_user_error("{}: llama.rope.scaling.type '{}' is not supported (Sieve runs plain RoPE)", source,
                             type != nullptr ? *type : "?");
  }
  if (const GgufValue* experts = header.find("llama.expert_count"); experts != nullptr && experts->integer().value_or(1) != 0)
    core::throw_user_error("{}: llama.expert_count is set: mixture-of-experts models are not supported", source);

  const GgufTensorInfo* embedding = header.tensor("token_embd.weight");
  if (embedding == nullptr) core::throw_user_error("{}: tensor 'token_embd.weight' is missing", source);
  if (embedding->dims.size() != 2 || embedding->dims[0] != c.hidden_size)
    core::throw_user_error("{}: token_embd.weight must be [embedding_length {}, vocab] in GGUF order", source,
                           c.hidden_size);
  c.vocab_size = embedding->dims[1];
  if (const GgufValue* vocab = header.find("llama.vocab_size"); vocab != nullptr && vocab->integer() != c.vocab_size)
    core::throw_user_error("{}: llama.vocab_size disagrees with token_embd.weight's {} rows", source, c.vocab_size);
  c.tie_word_embeddings = header.tensor("output.weight") == nullptr;
  if (!c.tie_word_embeddings) expect_dims(header, "output.weight", {c.hidden_size, c.vocab_size}, source);
  const auto special_id = [&](const char* key, std::int64_t fallback) {
    const GgufValue* value = header.find(key);
    const auto id = value != nullptr ? value->integer() : std::optional<std::int64_t>(fallback);
    // An id outside the vocabulary is dropped rather than refused: config.json requires it inside.
    return id && *id >= 0 && *id < c.vocab_size ? *id : std::min<std::int64_t>(fallback, c.vocab_size - 1);
  };
  c.bos_token_id = special_id("tokenizer.ggml.bos_token_id", 1);
  c.eos_token_id = special_id("tokenizer.ggml.eos_token_id", 2);
  c.attention = nn::AttentionConfig{};
  return c;
}

}  // namespace sieve::convert_gguf
