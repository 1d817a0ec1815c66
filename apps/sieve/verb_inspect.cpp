// `sieve inspect DIR`: the configuration and parameter counts of a model directory.
#include <cstdio>
#include <filesystem>

#include "apps/sieve/verbs.h"
#include "sieve/io/model_dir.h"

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

void run_inspect(const InspectArgs& args) {
  const auto model = io::load_model(args.model_dir);
  const auto& c = model->config();
  fmt::print("model directory   {}\n", args.model_dir);
  fmt::print("architecture      LlamaForCausalLM ({} attention)\n", c.attention.type);
  fmt::print("vocab_size        {}\n", c.vocab_size);
  fmt::print("hidden_size       {}\n", c.hidden_size);
  fmt::print("intermediate_size {}\n", c.intermediate_size);
  fmt::print("layers            {}\n", c.num_hidden_layers);
  fmt::print("heads             {} (kv heads {}, head dim {})\n", c.num_attention_heads, c.num_key_value_heads,
             c.head_dim());
  fmt::print("context           {}\n", c.max_position_embeddings);
  fmt::print("rope_theta        {}\n", c.rope_theta);
  fmt::print("tied embeddings   {}\n", c.tie_word_embeddings ? "yes" : "no");
  std::int64_t embedding = 0;
  std::int64_t head = 0;
  for (const auto& [name, tensor] : model->named_parameters()) {
    if (name == "model.embed_tokens.weight") embedding += tensor.numel();
    if (name == "lm_head.weight") head += tensor.numel();
  }
  const std::int64_t total = model->parameter_count();
  fmt::print("parameters        {} total: {} embedding, {} lm_head, {} in blocks and norms\n", human(total),
             human(embedding), human(head), human(total - embedding - head));
  const bool has_tokenizer = std::filesystem::exists(std::filesystem::path(args.model_dir) / io::kTokenizerFile);
  fmt::print("tokenizer         {}\n", has_tokenizer ? io::kTokenizerFile : "(none)");
}

}  // namespace

void add_inspect_verb(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show the configuration and parameter counts of a model directory");
  cmd->add_option("model_dir", args->model_dir, "Model directory (config.json + model.safetensors)")->required();
  cmd->callback([args] { run_inspect(*args); });
}

}  // namespace sieve::apps
