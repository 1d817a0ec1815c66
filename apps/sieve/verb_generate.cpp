// `sieve generate`: sample text from a model directory (optionally with LoRA adapters), streaming
// tokens as they are made.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "apps/sieve/inference_model.h"
#include "apps/sieve/text_generation.h"
#include "apps/sieve/verbs.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"

namespace sieve::apps {
namespace {

struct GenerateArgs {
  std::string model_dir;
  std::string prompt;
  nn::GenerationOptions options;
  bool stop_at_eos = true;
  bool show_stats = false;
  InferenceModelFlags model_flags;  // attention overrides, --adapter
};

void run_generate(const GenerateArgs& args) {
  nn::validate(args.options.sampling);  // before minutes of loading
  const std::filesystem::path dir(args.model_dir);
  const auto model = load_inference_model(dir, args.model_flags);
  const auto tokenizer = data::Tokenizer::load(dir / io::kTokenizerFile);
  const auto print = [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  std::chrono::steady_clock::time_point start;
  const std::int64_t produced = generate_text(*model, tokenizer, args.prompt, args.options, args.stop_at_eos,
                                              {.on_prompt =
                                                   [&](std::string_view text) {
                                                     print(text);
                                                     start = std::chrono::steady_clock::now();
                                                   },
                                               .on_text =
                                                   [&](std::string_view text) {
                                                     print(text);
                                                     return true;
                                                   }});
  std::fputs("\n", stdout);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.show_stats)
    std::fprintf(stderr, "[%lld tokens in %.2f s: %.1f tokens/s]\n", static_cast<long long>(produced), seconds,
                 static_cast<double>(produced) / seconds);
}

}  // namespace

void add_generate_verb(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a model directory (streams to stdout)");
  cmd->add_option("--model", args->model_dir, "Model directory with config.json, model.safetensors, tokenizer.model")
      ->required();
  cmd->add_option("--prompt", args->prompt, "Text to continue")->required();
  add_inference_model_flags(cmd, args->model_flags);
  cmd->add_option("--max-new-tokens", args->options.max_new_tokens, "Tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", args->options.sampling.temperature, "Sampling temperature; 0 = greedy")
      ->capture_default_str();
  cmd->add_option("--top-k", args->options.sampling.top_k, "Keep the k most likely tokens; 0 = all")
      ->capture_default_str();
  cmd->add_option("--top-p", args->options.sampling.top_p, "Nucleus sampling mass in (0, 1]")->capture_default_str();
  cmd->add_option("--seed", args->options.sampling.seed, "Random seed")->capture_default_str();
  cmd->add_flag("!--no-stop-at-eos", args->stop_at_eos, "Keep generating after an end-of-sequence token");
  cmd->add_flag("--stats", args->show_stats, "Print tokens/s to stderr");
  cmd->callback([args] { run_generate(*args); });
}

}  // namespace sieve::apps
