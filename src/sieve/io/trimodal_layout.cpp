#include "sieve/io/trimodal_layout.h"

#include <limits>
#include <string>

#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"

namespace sieve::io {
namespace {

using Specs = std::vector<TensorSpec>;

// Appends `specs` to `out`, each name prefixed.
void append_prefixed(Specs& out, const std::string& prefix, Specs specs) {
  for (TensorSpec& spec : specs) {
    spec.name = prefix + spec.name;
    out.push_back(std::move(spec));
  }
}

Specs attention_parameters(const nn::TriModalConfig& c) {
  const std::int64_t C = c.hidden_size;
  return {{"q_proj.weight", {C, C}, "hidden_size x hidden_size"},
          {"k_proj.weight", {C, C}, "hidden_size x hidden_size"},
          {"v_proj.weight", {C, C}, "hidden_size x hidden_size"},
          {"o_proj.weight", {C, C}, "hidden_size x hidden_size"}};
}

Specs mlp_parameters(const nn::TriModalConfig& c) {
  const std::int64_t C = c.hidden_size, I = c.intermediate_size;
  return {{"gate_proj.weight", {I, C}, "intermediate_size x hidden_size"},
          {"up_proj.weight", {I, C}, "intermediate_size x hidden_size"},
          {"down_proj.weight", {C, I}, "hidden_size x intermediate_size"}};
}

TensorSpec norm_parameter(const nn::TriModalConfig& c, std::string name) {
  return {std::move(name) + ".weight", {c.hidden_size}, "hidden_size"};
}

// nn::TransformerBlock.
Specs block_parameters(const nn::TriModalConfig& c) {
  Specs out{norm_parameter(c, "attn_norm")};
  append_prefixed(out, "attn.", attention_parameters(c));
  out.push_back(norm_parameter(c, "mlp_norm"));
  append_prefixed(out, "mlp.", mlp_parameters(c));
  return out;
}

// nn::CmafLayer: its own parameter (alpha_logits, learned α only) first, then its modules.
Specs cmaf_layer_parameters(const nn::TriModalConfig& c) {
  Specs out;
  if (c.fusion == nn::FusionMode::kCmaf) out.push_back({"alpha_logits", {nn::kModalityCount}, "3 (one per modality)"});
  out.push_back(norm_parameter(c, "self_norm"));
  append_prefixed(out, "self_attn.", attention_parameters(c));
  out.push_back(norm_parameter(c, "cross_norm"));
  out.push_back(norm_parameter(c, "context_norm"));
  append_prefixed(out, "cross_attn.", attention_parameters(c));
  out.push_back(norm_parameter(c, "mlp_norm"));
  append_prefixed(out, "mlp.", mlp_parameters(c));
  return out;
}

Specs image_stem_parameters(const nn::TriModalConfig& c) {
  const std::int64_t A = c.image_channels, C = c.hidden_size, p = c.image_patch, G = c.image_grid();
  return {{"conv.weight", {A, 3, 3, 1}, "image_channels x 3 x 3 x 1"},
          {"conv.bias", {A}, "image_channels"},
          {"patch.weight", {C, p, p, A}, "hidden_size x image_patch x image_patch x image_channels"},
          {"patch.bias", {C}, "hidden_size"},
          {"row_embedding", {G, C}, "max_image_side / image_patch x hidden_size"},
          {"column_embedding", {G, C}, "max_image_side / image_patch x hidden_size"},
          {"modality_embedding", {C}, "hidden_size"}};
}

// nn::TextStem: its own parameters first, then the token embedding module.
Specs text_stem_parameters(const nn::TriModalConfig& c) {
  const std::int64_t C = c.hidden_size;
  return {{"position_embedding", {c.max_text_tokens, C}, "max_text_tokens x hidden_size"},
          {"modality_embedding", {C}, "hidden_size"},
          {"tokens.weight", {c.vocab_size, C}, "vocab_size x hidden_size"}};
}

// nn::AudioStem: its own parameters first, then the projection module.
Specs audio_stem_parameters(const nn::TriModalConfig& c) {
  const std::int64_t A = c.audio_channels, C = c.hidden_size;
  const std::int64_t mel_out = nn::TriModalConfig::audio_tokens(c.n_mels);
  Specs out;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "conv" + std::to_string(i);
    out.push_back({name + ".weight", {A, 3, 3, i == 0 ? 1 : A},
                   i == 0 ? "audio_channels x 3 x 3 x 1" : "audio_channels x 3 x 3 x audio_channels"});
    out.push_back({name + ".bias", {A}, "audio_channels"});
  }
  out.push_back({"position_embedding", {c.max_audio_tokens, C}, "max_audio_tokens x hidden_size"});
  out.push_back({"modality_embedding", {C}, "hidden_size"});
  out.push_back({"project.weight", {C, mel_out * A}, "hidden_size x ceil(n_mels / 8) * audio_channels"});
  out.push_back({"project.bias", {C}, "hidden_size"});
  return out;
}

}  // namespace

std::vector<TensorSpec> trimodal_parameters(const nn::TriModalConfig& c) {
  const std::int64_t C = c.hidden_size;
  Specs out{{"log_temperature", {1}, "1"}};
  append_prefixed(out, "image_stem.", image_stem_parameters(c));
  append_prefixed(out, "text_stem.", text_stem_parameters(c));
  append_prefixed(out, "audio_stem.", audio_stem_parameters(c));
  for (std::int64_t l = 0; l < c.num_layers; ++l)
    append_prefixed(out, "trunk.layers." + std::to_string(l) + ".", block_parameters(c));
  out.push_back(norm_parameter(c, "trunk.norm"));
  for (std::int64_t l = 0; l < c.fusion_layers; ++l)
    append_prefixed(out, "fusion.layers." + std::to_string(l) + ".",
                    c.fusion == nn::FusionMode::kConcat ? block_parameters(c) : cmaf_layer_parameters(c));
  out.push_back(norm_parameter(c, "fusion.norm"));
  const auto head = [&](const char* name, std::int64_t classes, std::string_view fields, bool bias) {
    out.push_back({std::string(name) + ".weight", {classes, C}, fields});
    if (bias) out.push_back({std::string(name) + ".bias", {classes}, fields.substr(0, fields.find(' '))});
  };
  head("class_head", c.num_classes, "num_classes x hidden_size", true);
  head("word_head", c.num_words, "num_words x hidden_size", true);
  head("image_projection", c.embed_dim, "embed_dim x hidden_size", false);
  head("text_projection", c.embed_dim, "embed_dim x hidden_size", false);
  head("audio_projection", c.embed_dim, "embed_dim x hidden_size", false);
  head("match_head", 1, "1 x hidden_size", true);
  head("answer_head", c.num_answers, "num_answers x hidden_size", true);
  return out;
}

ModelFootprint trimodal_footprint(const nn::TriModalConfig& c, std::string_view source) {
  ModelFootprint f;
  std::int64_t largest = -1;
  for (const TensorSpec& spec : trimodal_parameters(c)) {
    const auto numel = core::checked_numel(spec.shape);
    const auto sum = numel ? core::checked_add(f.parameters, *numel) : std::nullopt;
    if (!sum)
      core::throw_user_error("{}: the model these sizes describe is too large to count (tensor {} is {})", source,
                             spec.name, spec.fields);
    f.parameters = *sum;
    ++f.parameter_tensors;
    if (*numel > largest) {
      largest = *numel;
      f.largest = spec;
    }
  }
  // Bytes saturate: a count that fits is reported as a size over any limit.
  const auto bytes = core::checked_mul(f.parameters, std::int64_t{4});
  const auto with_bookkeeping =
      bytes ? core::checked_add(*bytes, f.parameter_tensors * kBookkeepingBytesPerTensor) : std::nullopt;
  f.bytes = with_bookkeeping.value_or(std::numeric_limits<std::int64_t>::max());
  return f;
}

}  // namespace sieve::io
