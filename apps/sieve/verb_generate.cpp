// `sieve generate`: sample text from a model directory (optionally with LoRA adapters), streaming
// tokens as they are made.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "apps/sieve/inference_model.h"
#include "apps/sieve/verbs.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/generation.h"

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

void run_generate(GenerateArgs args) {
  nn::validate(args.options.sampling);
  const std::filesystem::path dir(args.model_dir);
  const auto model = load_inference_model(dir, args.model_flags);
  const auto tokenizer = data::Tokenizer::load(dir / io::kTokenizerFile);
  SIEVE_USER_CHECK(tokenizer.vocab_size() <= model->config().vocab_size,
                   "tokenizer vocabulary ({}) is larger than the model's ({})", tokenizer.vocab_size(),
                   model->config().vocab_size);
  std::vector<std::int64_t> prompt;
  if (tokenizer.bos_id() >= 0) prompt.push_back(tokenizer.bos_id());
  for (auto id : tokenizer.encode(args.prompt)) prompt.push_back(id);
  if (args.stop_at_eos) args.options.stop_token = tokenizer.eos_id();

  // The prompt is printed as its ids decode, and the continuation decoded after it, so the text
  // is the decode of all the ids (a first new piece keeps its leading space).
  data::StreamingDecoder decoder(tokenizer);
  const std::vector<std::int32_t> prompt_ids(prompt.begin(), prompt.end());
  std::fputs(decoder.push(prompt_ids).c_str(), stdout);
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const auto produced = nn::generate(*model, prompt, args.options, [&](std::int64_t token) {
    if (token == args.options.stop_token) return true;
    const std::string text = decoder.push(static_cast<std::int32_t>(token));
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    return true;
  });
  std::fputs(decoder.finish().c_str(), stdout);
  std::fputs("\n", stdout);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (args.show_stats)
    std::fprintf(stderr, "[%zu tokens in %.2f s: %.1f tokens/s]\n", produced.size(), seconds,
                 static_cast<double>(produced.size()) / seconds);
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
