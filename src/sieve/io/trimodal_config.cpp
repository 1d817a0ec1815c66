#include "sieve/io/trimodal_config.h"

#include <algorithm>
#include <iterator>
#include <string>

#include <fmt/ranges.h>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/io/brief_text.h"
#include "sieve/io/config_fields.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_limits.h"

namespace sieve::io {
namespace {

using nlohmann::json;

struct TriModalIntegerField {
  const char* name;
  std::int64_t nn::TriModalConfig::*member;
  std::int64_t min, max;
};

constexpr std::int64_t kMaxWidth = 16384;
constexpr std::int64_t kMaxLength = 65536;
constexpr std::int64_t kMaxChannels = 4096;
constexpr std::int64_t kMaxCount = std::int64_t{1} << 20;

// Every integer field of TriModalConfig, in the order config.json lists them.
constexpr TriModalIntegerField kTriModalIntegerFields[] = {
    {"hidden_size", &nn::TriModalConfig::hidden_size, 1, kMaxWidth},
    {"num_layers", &nn::TriModalConfig::num_layers, 1, 256},
    {"num_heads", &nn::TriModalConfig::num_heads, 1, 1024},
    {"intermediate_size", &nn::TriModalConfig::intermediate_size, 1, kMaxLength},
    {"vocab_size", &nn::TriModalConfig::vocab_size, 1, kMaxCount},
    {"max_text_tokens", &nn::TriModalConfig::max_text_tokens, 1, kMaxLength},
    {"image_patch", &nn::TriModalConfig::image_patch, 1, 256},
    {"image_channels", &nn::TriModalConfig::image_channels, 1, kMaxChannels},
    {"max_image_side", &nn::TriModalConfig::max_image_side, 1, kMaxChannels},
    {"n_mels", &nn::TriModalConfig::n_mels, 8, 1024},
    {"audio_channels", &nn::TriModalConfig::audio_channels, 1, kMaxChannels},
    {"max_audio_tokens", &nn::TriModalConfig::max_audio_tokens, 1, kMaxLength},
    {"fusion_layers", &nn::TriModalConfig::fusion_layers, 1, 64},
    {"embed_dim", &nn::TriModalConfig::embed_dim, 1, kMaxWidth},
    {"num_classes", &nn::TriModalConfig::num_classes, 1, kMaxCount},
    {"num_words", &nn::TriModalConfig::num_words, 1, kMaxCount},
    {"num_answers", &nn::TriModalConfig::num_answers, 1, kMaxCount},
};

constexpr std::string_view kTriModalOtherKeys[] = {"architectures", "model_type", "norm_eps", "fusion"};

bool known_trimodal_key(std::string_view key) {
  return std::any_of(std::begin(kTriModalIntegerFields), std::end(kTriModalIntegerFields),
                     [&](const TriModalIntegerField& f) { return key == f.name; }) ||
         std::find(std::begin(kTriModalOtherKeys), std::end(kTriModalOtherKeys), key) != std::end(kTriModalOtherKeys);
}

void check_trimodal_architecture(const FieldReader& reader) {
  const auto model_type = reader.string("model_type");
  if (!model_type) reader.fail("model_type", "missing (expected \"{}\")", nn::kTriModalFamily);
  if (*model_type != nn::kTriModalFamily)
    reader.fail("model_type", "expected \"{}\", got \"{}\"", nn::kTriModalFamily, brief_text(*model_type));
  const json* architectures = reader.find("architectures");
  if (architectures == nullptr) reader.fail("architectures", "missing (expected [\"{}\"])", kTriModalArchitecture);
  if (*architectures != json::array({kTriModalArchitecture}))
    reader.fail("architectures", "expected [\"{}\"], got {}", kTriModalArchitecture, brief(*architectures));
}

}  // namespace

nn::TriModalConfig parse_trimodal_config(const json& config, std::string_view source_name) {
  const std::string source(source_name);
  if (!config.is_object())
    core::throw_user_error("{}: expected a JSON object of model settings, got {}", source, config.type_name());
  const FieldReader reader(config, source);
  check_trimodal_architecture(reader);
  for (const auto& [key, unused] : config.items())
    if (!known_trimodal_key(key)) reader.fail(brief_text(key), "unknown key for a {} model", nn::kTriModalFamily);

  nn::TriModalConfig c;
  for (const TriModalIntegerField& field : kTriModalIntegerFields) c.*field.member = reader.integer(field.name, field.min, field.max);
  if (reader.find("norm_eps") == nullptr) reader.fail("norm_eps", "missing (expected a number in (0, 1))");
  c.norm_eps = reader.positive_number_or("norm_eps", c.norm_eps);
  if (c.norm_eps >= 1.0) reader.fail("norm_eps", "expected a number in (0, 1), got {}", c.norm_eps);
  const auto fusion = reader.string("fusion");
  if (!fusion) reader.fail("fusion", "missing (expected one of cmaf, fixed, concat)");
  if (!nn::parse_fusion_mode(*fusion, c.fusion))
    reader.fail("fusion", "unknown fusion mode \"{}\" (known: cmaf, fixed, concat)", brief_text(*fusion));

  if (c.hidden_size % c.num_heads != 0)
    reader.fail("hidden_size", "{} is not divisible by num_heads ({})", c.hidden_size, c.num_heads);
  if (c.max_image_side % c.image_patch != 0)
    reader.fail("max_image_side", "{} is not a multiple of image_patch ({})", c.max_image_side, c.image_patch);
  return c;
}

nn::TriModalConfig parse_trimodal_config_text(std::string_view text, std::string_view source) {
  return parse_trimodal_config(parse_config_json_text(text, source), source);
}

json trimodal_config_to_json(const nn::TriModalConfig& config) {
  json out = json::object();
  out["architectures"] = json::array({kTriModalArchitecture});
  out["model_type"] = nn::kTriModalFamily;
  for (const TriModalIntegerField& field : kTriModalIntegerFields) out[field.name] = config.*field.member;
  out["norm_eps"] = config.norm_eps;
  out["fusion"] = std::string(nn::fusion_mode_name(config.fusion));
  return out;
}

nn::TriModalConfig load_trimodal_config(const std::filesystem::path& config_json) {
  const std::string source = config_json.string();
  nn::TriModalConfig config = parse_trimodal_config(read_config_json(config_json), source);
  check_model_fits(config, source);
  return config;
}

void save_trimodal_config(const std::filesystem::path& path, const nn::TriModalConfig& config) {
  core::write_file_atomically(path, trimodal_config_to_json(config).dump(2) + "\n");
}

}  // namespace sieve::io
