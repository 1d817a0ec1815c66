// `sieve inspect DIR`: the configuration and parameter counts of a model directory, plain or
// quantized; for a quantized one each Linear's precision, and the size on disk. A trimodal
// directory (model_type sieve_trimodal) shows its config and the parameters of each part.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <functional>
#include <map>
#include <string_view>

#include "apps/sieve/inference_model.h"
#include "apps/sieve/verbs.h"
#include "sieve/compress/quantization_plan.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_family.h"
#include "sieve/io/trimodal_config.h"
#include "sieve/io/trimodal_model_dir.h"

namespace sieve::apps {
namespace {

struct InspectArgs {
  std::string model_dir;
};

std::string human(std::int64_t count) {
  if (count >= 1'000'000) return fmt::format("{:.2f}M", static_cast<double>(count) / 1e6);
  if (count >= 1'000) return fmt::format("{:.1f}K", static_cast<double>(count) / 1e3);
  return std::to_string(count);
}

std::string human_bytes(std::int64_t bytes) {
  if (bytes >= 1 << 20) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1 << 20));
  if (bytes >= 1 << 10) return fmt::format("{:.1f} KB", static_cast<double>(bytes) / (1 << 10));
  return fmt::format("{} B", bytes);
}

// Each Linear's precision and weight bytes, and the weights' file size next to what the f32
// model's file would take.
void print_precision(const nn::LlamaForCausalLM& model, const std::filesystem::path& dir) {
  const compress::QuantizationPlan plan = compress::plan_of(model);
  const bool quantized = compress::quantizes_any(plan);
  std::int64_t f32_bytes = 0;
  for (const auto& [name, tensor] : model.named_parameters()) f32_bytes += 4 * tensor.numel();
  if (quantized) {
    fmt::print("quantization      scheme {}\n", plan.scheme);
    for (const auto& [path, linear] : compress::model_linears(model)) {
      const nn::LinearWeightFormat* format = linear->weight_format();
      const std::int64_t f32 = 4 * linear->in_features() * linear->out_features();
      fmt::print("  {:<40} {:>5} x {:<5} {:<12} {:>10}\n", path, linear->out_features(), linear->in_features(),
                 format != nullptr ? format->describe() : "f32", human_bytes(format != nullptr ? format->weight_bytes() : f32));
      if (format != nullptr) f32_bytes += f32;
    }
    fmt::print("                  embedding, norms{}: f32\n", model.config().tie_word_embeddings ? ", tied lm_head" : "");
  } else {
    fmt::print("precision         f32 (not quantized)\n");
  }
  const std::filesystem::path weights = dir / io::kWeightsFile;
  const auto on_disk = static_cast<std::int64_t>(std::filesystem::file_size(weights));
  fmt::print("size on disk      {} {}{}\n", io::kWeightsFile, human_bytes(on_disk),
             quantized ? fmt::format(" ({:.2f}x smaller than the f32 weights, {})",
                                     static_cast<double>(f32_bytes) / static_cast<double>(on_disk),
                                     human_bytes(f32_bytes))
                       : std::string());
}

// The top-level parts of the trimodal model, in the order they run; every other parameter
// belongs to the heads (classification, contrastive projections and temperature, match, answer).
constexpr std::string_view kTriModalParts[] = {"image_stem", "text_stem", "audio_stem", "trunk", "fusion"};

void inspect_trimodal(const InspectArgs& args) {
  const auto model = io::load_trimodal_model(args.model_dir);
  const nn::TriModalConfig& c = model->config();
  fmt::print("model directory   {}\n", args.model_dir);
  fmt::print("family            {} ({})\n", model->family(), io::kTriModalArchitecture);
  fmt::print("hidden_size       {}\n", c.hidden_size);
  fmt::print("intermediate_size {}\n", c.intermediate_size);
  fmt::print("trunk layers      {}\n", c.num_layers);
  fmt::print("attention heads   {} (head dim {})\n", c.num_heads, c.head_dim());
  fmt::print("norm_eps          {}\n", c.norm_eps);
  fmt::print("fusion            {}, fusion_layers {}\n", nn::fusion_mode_name(c.fusion), c.fusion_layers);
  fmt::print("text              vocab_size {}, max_text_tokens {}\n", c.vocab_size, c.max_text_tokens);
  fmt::print("image             image_patch {}, image_channels {}, max_image_side {} ({}x{} patches)\n", c.image_patch,
             c.image_channels, c.max_image_side, c.image_grid(), c.image_grid());
  fmt::print("audio             n_mels {}, audio_channels {}, max_audio_tokens {} ({} frames)\n", c.n_mels,
             c.audio_channels, c.max_audio_tokens, c.max_audio_frames());
  fmt::print("outputs           embed_dim {}, num_classes {}, num_words {}, num_answers {}\n", c.embed_dim,
             c.num_classes, c.num_words, c.num_answers);
  std::map<std::string, std::int64_t, std::less<>> per_part;
  for (const auto& [name, tensor] : model->named_parameters()) {
    const std::string top = name.substr(0, name.find('.'));
    const bool part = std::find(std::begin(kTriModalParts), std::end(kTriModalParts), top) != std::end(kTriModalParts);
    per_part[part ? top : "heads"] += tensor.numel();
  }
  fmt::print("parameters        {} total\n", human(model->parameter_count()));
  for (const std::string_view part : kTriModalParts)
    fmt::print("  {:<15} {}\n", part, human(per_part[std::string(part)]));
  fmt::print("  {:<15} {} (classification, contrastive, match and answer heads)\n", "heads",
             human(per_part["heads"]));
  const auto on_disk = static_cast<std::int64_t>(std::filesystem::file_size(std::filesystem::path(args.model_dir) / io::kWeightsFile));
  fmt::print("size on disk      {} {}\n", io::kWeightsFile, human_bytes(on_disk));
  const bool has_tokenizer = std::filesystem::exists(std::filesystem::path(args.model_dir) / io::kTokenizerFile);
  fmt::print("tokenizer         {}\n", has_tokenizer ? io::kTokenizerFile : "(none)");
}

void run_inspect(const InspectArgs& args) {
  if (io::model_family(args.model_dir) == nn::kTriModalFamily) {
    inspect_trimodal(args);
    return;
  }
  const auto model = load_model_dir(args.model_dir);
  const auto& c = model->config();
  fmt::print("model directory   {}\n", args.model_dir);
  fmt::print("architecture      LlamaForCausalLM ({} attention)\n", c.attention.type);
  fmt::print("vocab_size        {}\n", c.vocab_size);
  fmt::print("hidden_size       {}\n", c.hidden_size);
  fmt::print("intermediate_size {}\n", c.intermediate_size);
  fmt::print("layers            {}\n", c.num_hidden_layers);
  fmt::print("heads             {} (kv heads {}, head dim {})\n", c.num_attention_heads, c.num_key_value_heads,
             c.head_dim());
  if (c.pruned()) {  // per-layer widths (sieve prune)
    fmt::print("pruned widths    ");
    for (std::int64_t l = 0; l < c.num_hidden_layers; ++l)
      fmt::print(" {}:{}h/{}kv/{}", l, c.heads(l), c.kv_heads(l), c.intermediate(l));
    fmt::print(" (layer: heads / kv heads / MLP)\n");
  }
  fmt::print("context           {}\n", c.max_position_embeddings);
  fmt::print("rope_theta        {}\n", c.rope_theta);
  fmt::print("tied embeddings   {}\n", c.tie_word_embeddings ? "yes" : "no");
  std::int64_t embedding = 0;
  std::int64_t head = 0;
  for (const auto& [name, tensor] : model->named_parameters()) {
    if (name == "model.embed_tokens.weight") embedding += tensor.numel();
    if (name == "lm_head.weight") head += tensor.numel();
  }
  std::int64_t total = model->parameter_count();
  for (const auto& [path, linear] : compress::model_linears(*model)) {  // released f32 weights count too
    if (linear->weight().defined()) continue;
    const std::int64_t count = linear->in_features() * linear->out_features();
    total += count;
    if (path == "lm_head") head += count;
  }
  fmt::print("parameters        {} total: {} embedding, {} lm_head, {} in blocks and norms\n", human(total),
             human(embedding), human(head), human(total - embedding - head));
  print_precision(*model, args.model_dir);
  const bool has_tokenizer = std::filesystem::exists(std::filesystem::path(args.model_dir) / io::kTokenizerFile);
  fmt::print("tokenizer         {}\n", has_tokenizer ? io::kTokenizerFile : "(none)");
}

}  // namespace

void add_inspect_verb(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show the configuration, parameter counts and precision of a model directory");
  cmd->add_option("model_dir", args->model_dir, "Model directory (config.json + model.safetensors)")->required();
  cmd->callback([args] { run_inspect(*args); });
}

}  // namespace sieve::apps
