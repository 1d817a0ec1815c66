#include "sieve/io/model_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include <fmt/ranges.h>

#include "sieve/core/error.h"
#include "sieve/core/atomic_file.h"
#include "sieve/io/brief_text.h"
#include "sieve/io/config_fields.h"
#include "sieve/io/model_limits.h"
#include "sieve/nn/models/trimodal/trimodal_model.h"

namespace sieve::io {
namespace {

using nlohmann::json;

// Every integer field fits in 32 bits (token ids are stored as int32 downstream); keeping
// them this small also keeps products like vocab_size * hidden_size far from overflow.
constexpr std::int64_t kMaxInteger = std::int64_t{1} << 31;
// Far deeper than any HF config nests; bounds what a hostile file can make the parser build.
constexpr int kMaxJsonDepth = 64;
// A config.json is a few kilobytes; anything this large is not one.
constexpr std::uintmax_t kMaxConfigBytes = 16u << 20;

constexpr std::string_view kKnownAttentionTypes[] = {"dense", "local", "sparse"};
constexpr std::string_view kAttentionKeys[] = {"type", "layers", "window", "global_cap", "lsh_keys", "lsh_rounds",
                                               "lsh_buckets", "threshold", "keep_ratio", "scorer_channels",
                                               "scorer_kernel", "dense_below"};

constexpr std::string_view kPruningKeys[] = {"num_attention_heads", "num_key_value_heads", "intermediate_size"};

std::string known_attention_types() {
  std::string out;
  for (const auto type : kKnownAttentionTypes) out += (out.empty() ? "" : ", ") + std::string(type);
  return out;
}

bool known_attention_type(const std::string& type) {
  return std::find(std::begin(kKnownAttentionTypes), std::end(kKnownAttentionTypes), type) !=
         std::end(kKnownAttentionTypes);
}

nn::AttentionConfig parse_attention(const json& value, const std::string& source,
                                    std::int64_t num_hidden_layers) {
  if (!value.is_object())
    core::throw_user_error("{}: field 'attention': expected an object like {{\"type\": \"dense\"}}, got {}",
                           source, brief(value));
  // Sieve's own section: unlike HF's top-level keys, an unknown key here is a typo.
  for (const auto& [key, unused] : value.items())
    if (std::find(std::begin(kAttentionKeys), std::end(kAttentionKeys), key) == std::end(kAttentionKeys))
      core::throw_user_error("{}: field 'attention': unknown key '{}' (known: {})", source, brief_text(key),
                             fmt::join(kAttentionKeys, ", "));
  const FieldReader reader(value, source + ": attention");
  nn::AttentionConfig c;
  const auto type = reader.string("type");
  if (!type)
    core::throw_user_error("{}: field 'attention.type': missing (known types: {})", source,
                           known_attention_types());
  if (!known_attention_type(*type))
    core::throw_user_error("{}: field 'attention.type': unknown attention type '{}' (known types: {})", source,
                           brief_text(*type), known_attention_types());
  c.type = *type;
  if (const json* layers = reader.find("layers")) {
    if (!layers->is_array() || static_cast<std::int64_t>(layers->size()) != num_hidden_layers)
      reader.fail("layers", "expected an array of {} attention types (one per layer), got {}", num_hidden_layers,
                  brief(*layers));
    for (const json& kind : *layers) {
      if (!kind.is_string() || !known_attention_type(kind.get<std::string>()))
        reader.fail("layers", "unknown attention type {} (known types: {})", brief(kind), known_attention_types());
      c.layers.push_back(kind.get<std::string>());
    }
  }
  c.window = reader.integer_or("window", c.window, 64, kMaxInteger);
  c.global_cap = reader.integer_or("global_cap", c.global_cap, 1, kMaxInteger);
  c.lsh_keys = reader.integer_or("lsh_keys", c.lsh_keys, 1, kMaxInteger);
  c.lsh_rounds = reader.integer_or("lsh_rounds", c.lsh_rounds, 0, 8);
  c.lsh_buckets = reader.integer_or("lsh_buckets", c.lsh_buckets, 0, 1 << 20);
  if (c.lsh_buckets % 2 != 0)
    reader.fail("lsh_buckets", "expected 0 (automatic) or an even count >= 2, got {}", c.lsh_buckets);
  c.threshold = reader.number_in_or("threshold", c.threshold, 0.0, 1.0);
  c.keep_ratio = reader.number_in_or("keep_ratio", c.keep_ratio, 0.0, 1.0);
  c.scorer_channels = reader.integer_or("scorer_channels", c.scorer_channels, 1, 4096);
  c.scorer_kernel = reader.integer_or("scorer_kernel", c.scorer_kernel, 1, 63);
  c.dense_below = reader.integer_or("dense_below", c.dense_below, 0, kMaxInteger);
  return c;
}

// One per-layer width array of the "pruning" section: num_hidden_layers integers >= 1.
std::vector<std::int64_t> parse_layer_widths(const json& pruning, std::string_view key, const std::string& source,
                                             std::int64_t num_hidden_layers) {
  const auto it = pruning.find(key);
  if (it == pruning.end()) return {};
  const auto fail = [&](const json& got) {
    core::throw_user_error("{}: field 'pruning.{}': expected an array of {} integers in [1, {}] (one per layer), got {}",
                           source, key, num_hidden_layers, kMaxInteger, brief(got));
  };
  if (!it->is_array() || static_cast<std::int64_t>(it->size()) != num_hidden_layers) fail(*it);
  std::vector<std::int64_t> widths;
  for (const json& width : *it) {
    if (!width.is_number_integer() || (width.is_number_unsigned() && width.get<std::uint64_t>() > kMaxInteger) ||
        width.get<std::int64_t>() < 1 || width.get<std::int64_t>() > kMaxInteger)
      fail(width);
    widths.push_back(width.get<std::int64_t>());
  }
  return widths;
}

// Sieve's per-layer widths of a pruned model (LlamaConfig::pruning); every layer's query heads
// must be a multiple of its kv heads.
nn::LayerWidths parse_pruning(const json& value, const std::string& source, const nn::LlamaConfig& c) {
  if (!value.is_object())
    core::throw_user_error("{}: field 'pruning': expected an object of per-layer width arrays, got {}", source,
                           brief(value));
  for (const auto& [key, unused] : value.items())
    if (std::find(std::begin(kPruningKeys), std::end(kPruningKeys), key) == std::end(kPruningKeys))
      core::throw_user_error("{}: field 'pruning': unknown key '{}' (known: {})", source, brief_text(key),
                             fmt::join(kPruningKeys, ", "));
  nn::LayerWidths widths;
  widths.num_attention_heads = parse_layer_widths(value, "num_attention_heads", source, c.num_hidden_layers);
  widths.num_key_value_heads = parse_layer_widths(value, "num_key_value_heads", source, c.num_hidden_layers);
  widths.intermediate_size = parse_layer_widths(value, "intermediate_size", source, c.num_hidden_layers);
  nn::LlamaConfig pruned = c;
  pruned.pruning = widths;
  for (std::int64_t layer = 0; layer < c.num_hidden_layers; ++layer)
    if (pruned.heads(layer) % pruned.kv_heads(layer) != 0)
      core::throw_user_error(
          "{}: field 'pruning': layer {} has {} attention heads, not a multiple of its {} key/value heads", source,
          layer, pruned.heads(layer), pruned.kv_heads(layer));
  return widths;
}

void check_architecture(const FieldReader& reader) {
  if (const auto model_type = reader.string("model_type"); model_type && *model_type != "llama")
    reader.fail("model_type", "Sieve runs \"llama\" models here, not \"{}\"{}", brief_text(*model_type),
                *model_type == nn::kTriModalFamily ? " (a trimodal model: text, images and audio)" : "");
  if (const json* architectures = reader.find("architectures")) {
    if (!architectures->is_array() || architectures->empty())
      reader.fail("architectures", "expected [\"LlamaForCausalLM\"], got {}", brief(*architectures));
    for (const json& name : *architectures)
      if (name != "LlamaForCausalLM")
        reader.fail("architectures", "Sieve runs LlamaForCausalLM, not {}", brief(name));
  }
  // HF fields that change what the model computes: accept them only when they describe what
  // Sieve runs, instead of silently running a different model.
  if (const auto act = reader.string("hidden_act"); act && *act != "silu")
    reader.fail("hidden_act", "Sieve's MLP uses \"silu\", not \"{}\"", brief_text(*act));
  for (const char* bias : {"attention_bias", "mlp_bias"})
    if (reader.boolean_or(bias, false)) reader.fail(bias, "biases are not supported (expected false)");
  if (const json* scaling = reader.find("rope_scaling"); scaling != nullptr && !scaling->is_null())
    reader.fail("rope_scaling", "RoPE scaling is not supported (expected null), got {}", brief(*scaling));
}

}  // namespace

nn::LlamaConfig parse_llama_config(const json& config, std::string_view source_name) {
  const std::string source(source_name);
  if (!config.is_object())
    core::throw_user_error("{}: expected a JSON object of model settings, got {}", source, config.type_name());
  const FieldReader reader(config, source);
  check_architecture(reader);

  nn::LlamaConfig c;
  c.vocab_size = reader.integer("vocab_size", 1, kMaxInteger);
  c.hidden_size = reader.integer("hidden_size", 1, kMaxInteger);
  c.intermediate_size = reader.integer("intermediate_size", 1, kMaxInteger);
  c.num_hidden_layers = reader.integer("num_hidden_layers", 1, kMaxInteger);
  c.num_attention_heads = reader.integer("num_attention_heads", 1, kMaxInteger);
  c.num_key_value_heads = reader.integer_or("num_key_value_heads", c.num_attention_heads, 1, kMaxInteger);
  c.max_position_embeddings =
      reader.integer_or("max_position_embeddings", c.max_position_embeddings, 1, kMaxInteger);
  c.rms_norm_eps = reader.positive_number_or("rms_norm_eps", c.rms_norm_eps);
  c.rope_theta = reader.positive_number_or("rope_theta", c.rope_theta);
  c.tie_word_embeddings = reader.boolean_or("tie_word_embeddings", c.tie_word_embeddings);
  c.bos_token_id = reader.integer_or("bos_token_id", c.bos_token_id, 0, kMaxInteger);
  c.eos_token_id = reader.integer_or("eos_token_id", c.eos_token_id, 0, kMaxInteger);
  if (const json* attention = reader.find("attention"))
    c.attention = parse_attention(*attention, source, c.num_hidden_layers);

  if (c.hidden_size % c.num_attention_heads != 0)
    reader.fail("hidden_size", "{} is not divisible by num_attention_heads ({})", c.hidden_size,
                c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    reader.fail("num_key_value_heads", "num_attention_heads ({}) is not a multiple of it ({})",
                c.num_attention_heads, c.num_key_value_heads);
  if (c.head_dim() % 2 != 0)
    reader.fail("hidden_size", "head dim hidden_size / num_attention_heads = {} must be even (RoPE rotates pairs)",
                c.head_dim());
  if (const json* pruning = reader.find("pruning")) c.pruning = parse_pruning(*pruning, source, c);
  // The defaults (1, 2) apply when the file names no ids; a tiny vocabulary must name them.
  for (const auto& [field, id] :
       {std::pair{"bos_token_id", c.bos_token_id}, std::pair{"eos_token_id", c.eos_token_id}})
    if (id >= c.vocab_size) reader.fail(field, "token id {} is not below vocab_size ({})", id, c.vocab_size);
  if (const json* head_dim = reader.find("head_dim"); head_dim != nullptr && !head_dim->is_null())
    if (*head_dim != c.head_dim())
      reader.fail("head_dim", "Sieve uses hidden_size / num_attention_heads = {}, the file says {}", c.head_dim(),
                  brief(*head_dim));
  return c;
}

json parse_config_json_text(std::string_view text, std::string_view source) {
  try {
    return json::parse(text.begin(), text.end(), [&](int depth, json::parse_event_t event, json&) {
      if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
          depth >= kMaxJsonDepth)
        core::throw_user_error("{}: malformed config: JSON nested more than {} levels deep", source,
                               kMaxJsonDepth);
      return true;
    });
  } catch (const json::exception& e) {
    // nlohmann's message carries the line and column; drop its "[json.exception...] " tag.
    std::string_view message = e.what();
    if (const auto close = message.find("] "); message.starts_with("[json.") && close != std::string_view::npos)
      message.remove_prefix(close + 2);
    core::throw_user_error("{}: malformed JSON: {}", source, message);
  }
}

nn::LlamaConfig parse_llama_config_text(std::string_view text, std::string_view source) {
  return parse_llama_config(parse_config_json_text(text, source), source);
}

json read_config_json(const std::filesystem::path& config_json) {
  const std::string source = config_json.string();
  std::error_code error;
  const auto size = std::filesystem::file_size(config_json, error);
  if (error) core::throw_user_error("cannot read model config {}: {}", source, error.message());
  if (size > kMaxConfigBytes)
    core::throw_user_error("{}: {} bytes is too large for a model config (limit {})", source, size,
                           kMaxConfigBytes);
  std::ifstream in(config_json, std::ios::binary);
  if (!in) core::throw_user_error("cannot read model config {}", source);
  std::string text(std::istreambuf_iterator<char>(in), {});
  if (in.bad()) core::throw_user_error("cannot read model config {}: read error", source);
  return parse_config_json_text(text, source);
}

nn::LlamaConfig load_llama_config(const std::filesystem::path& config_json) {
  const std::string source = config_json.string();
  nn::LlamaConfig config = parse_llama_config(read_config_json(config_json), source);
  check_model_fits(config, source);
  return config;
}

json llama_config_to_json(const nn::LlamaConfig& config, json base) {
  SIEVE_CHECK(base.is_object(), "llama_config_to_json: base must be a JSON object, got {}", base.type_name());
  base["architectures"] = json::array({"LlamaForCausalLM"});
  base["model_type"] = "llama";
  base["vocab_size"] = config.vocab_size;
  base["hidden_size"] = config.hidden_size;
  base["intermediate_size"] = config.intermediate_size;
  base["num_hidden_layers"] = config.num_hidden_layers;
  base["num_attention_heads"] = config.num_attention_heads;
  base["num_key_value_heads"] = config.num_key_value_heads;
  base["max_position_embeddings"] = config.max_position_embeddings;
  base["rms_norm_eps"] = config.rms_norm_eps;
  base["rope_theta"] = config.rope_theta;
  base["tie_word_embeddings"] = config.tie_word_embeddings;
  base["bos_token_id"] = config.bos_token_id;
  base["eos_token_id"] = config.eos_token_id;
  const nn::AttentionConfig& a = config.attention;
  json attention = {{"type", a.type}};
  if (!a.layers.empty()) attention["layers"] = a.layers;
  const bool tuned = a.type != "dense" || !a.layers.empty();
  if (tuned) {  // a dense-only model keeps the short form
    attention["window"] = a.window;
    attention["global_cap"] = a.global_cap;
    attention["lsh_keys"] = a.lsh_keys;
    attention["lsh_rounds"] = a.lsh_rounds;
    attention["lsh_buckets"] = a.lsh_buckets;
    attention["threshold"] = a.threshold;
    attention["keep_ratio"] = a.keep_ratio;
    attention["scorer_channels"] = a.scorer_channels;
    attention["scorer_kernel"] = a.scorer_kernel;
    attention["dense_below"] = a.dense_below;
  }
  base["attention"] = attention;
  // Only a pruned model has the section: other configs stay plain Hugging Face ones.
  base.erase("pruning");
  if (config.pruned()) {
    json pruning = json::object();
    const nn::LayerWidths& w = config.pruning;
    if (!w.num_attention_heads.empty()) pruning["num_attention_heads"] = w.num_attention_heads;
    if (!w.num_key_value_heads.empty()) pruning["num_key_value_heads"] = w.num_key_value_heads;
    if (!w.intermediate_size.empty()) pruning["intermediate_size"] = w.intermediate_size;
    base["pruning"] = pruning;
  }
  // A head_dim kept from `base` must follow a changed hidden_size or head count.
  if (base.contains("head_dim")) base["head_dim"] = config.head_dim();
  return base;
}

void save_llama_config(const std::filesystem::path& path, const nn::LlamaConfig& config) {
  const std::string text = llama_config_to_json(config).dump(2) + "\n";
  core::write_file_atomically(path, text);
}

}  // namespace sieve::io
