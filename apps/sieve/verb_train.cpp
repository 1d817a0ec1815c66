// `sieve train`: corpus → tokenizer → token shards → LLaMA-style model, with validation
// perplexity before and after, checkpoints, resume, and a final model directory.
#include <csignal>
#include <cstdio>
#include <filesystem>


#include "apps/sieve/dataset_setup.h"
#include "apps/sieve/verbs.h"
#include "sieve/data/corpus_registry.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"
#include "sieve/train/trainer.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::vector<std::string> corpora;
  std::string out_dir;
  std::string tokenizer;
  std::string preset = "demo";
  std::string config_file;
  std::uint64_t model_seed = 0;
  std::int64_t max_documents = 0;
  std::int64_t max_bytes = 0;
  double val_fraction = 0.01;
  float lr = 1e-3f;
  float min_lr = 1e-4f;
  std::int64_t warmup = 50;
  double max_minutes = 0.0;
  train::TrainerOptions trainer;
};

std::atomic<bool> g_stop{false};

extern "C" void on_interrupt(int) { g_stop.store(true); }

// Reuses out/tokenizer.model, copies --tokenizer there, or trains one on the corpora.
data::Tokenizer ensure_tokenizer(const TrainArgs& args, const std::vector<fs::path>& corpora,
                                 std::int64_t vocab_size) {
  const fs::path target = fs::path(args.out_dir) / io::kTokenizerFile;
  if (!args.tokenizer.empty()) {
    auto tokenizer = data::Tokenizer::load(args.tokenizer);
    if (fs::path(args.tokenizer) != target) fs::copy_file(args.tokenizer, target, fs::copy_options::overwrite_existing);
    return tokenizer;
  }
  if (fs::exists(target)) return data::Tokenizer::load(target);
  std::fprintf(stderr, "training a %lld-piece BPE tokenizer on %zu corpus file(s)...\n",
               static_cast<long long>(vocab_size), corpora.size());
  data::TokenizerTrainOptions options;
  options.inputs = corpora;
  options.model_prefix = fs::path(args.out_dir) / "tokenizer";
  options.vocab_size = static_cast<int>(vocab_size);
  data::train_tokenizer(options);
  return data::Tokenizer::load(target);
}

void run_train(TrainArgs args) {
  SIEVE_USER_CHECK(!args.corpora.empty(), "--data: give at least one corpus (gcide, foldoc, or a file)");
  std::vector<fs::path> corpora;
  for (const auto& spec : args.corpora) corpora.push_back(data::resolve_corpus(spec));
  fs::create_directories(args.out_dir);

  nn::LlamaConfig config =
      args.config_file.empty() ? nn::preset_config(args.preset) : io::load_llama_config(args.config_file);
  const data::Tokenizer tokenizer = ensure_tokenizer(args, corpora, config.vocab_size);
  SIEVE_USER_CHECK(tokenizer.vocab_size() <= config.vocab_size,
                   "the tokenizer has {} pieces but the model's vocab_size is {}", tokenizer.vocab_size(),
                   config.vocab_size);
  config.vocab_size = tokenizer.vocab_size();
  config.bos_token_id = tokenizer.bos_id();
  config.eos_token_id = tokenizer.eos_id();
  if (args.trainer.context == 0) args.trainer.context = config.max_position_embeddings;

  const data::PrepareResult dataset = prepare_cached_dataset(
      fs::path(args.out_dir) / "data",
      {.corpora = args.corpora, .max_documents = args.max_documents, .max_bytes = args.max_bytes,
       .val_fraction = args.val_fraction, .seed = args.trainer.seed},
      tokenizer);
  nn::LlamaForCausalLM model(config, args.model_seed);
  std::fprintf(stderr, "model: %.2fM parameters (%lld layers, hidden %lld, context %lld)\n",
               static_cast<double>(model.parameter_count()) / 1e6, static_cast<long long>(config.num_hidden_layers),
               static_cast<long long>(config.hidden_size), static_cast<long long>(args.trainer.context));

  args.trainer.schedule.peak_lr = args.lr;
  args.trainer.schedule.min_lr = args.min_lr;
  args.trainer.schedule.warmup_steps = args.warmup;
  args.trainer.run_dir = args.out_dir;
  args.trainer.max_seconds = args.max_minutes * 60.0;
  train::Trainer trainer(model, data::TokenShard::open(dataset.train_path), data::TokenShard::open(dataset.val_path),
                         args.trainer);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const train::TrainResult result = trainer.run(&g_stop);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  io::save_model(model, args.out_dir);
  std::printf("validation perplexity: %.2f before, %.2f after %lld steps (%.0f tokens/s)\n",
              std::exp(result.initial_val_loss), std::exp(result.final_val_loss),
              static_cast<long long>(result.steps_done), result.tokens_per_second);
  if (result.skipped_steps > 0 || args.trainer.loss_scaling)
    std::printf("loss scaling: %lld step(s) skipped for inf/NaN gradients, final scale %g\n",
                static_cast<long long>(result.skipped_steps), static_cast<double>(result.loss_scale));
  std::printf("model saved to %s (config.json, model.safetensors, tokenizer.model)\n", args.out_dir.c_str());
}

}  // namespace

void add_train_verb(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  args->trainer.context = 0;
  CLI::App* cmd = app.add_subcommand("train", "Train a language model on a corpus");
  cmd->add_option("--data", args->corpora, "Corpus: gcide, foldoc, or a text / wikitext .raw / .dict.dz file")
      ->required();
  cmd->add_option("--out", args->out_dir, "Run and model directory (created)")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "An existing tokenizer.model (default: train one)");
  cmd->add_option("--preset", args->preset, "Model size: tiny, demo, lm-17m")->capture_default_str();
  cmd->add_option("--config", args->config_file, "A config.json instead of a preset");
  cmd->add_option("--model-seed", args->model_seed, "Weight initialisation seed")->capture_default_str();
  cmd->add_option("--steps", args->trainer.steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--batch", args->trainer.batch, "Sequences per micro-batch")->capture_default_str();
  cmd->add_option("--context", args->trainer.context, "Tokens per sequence (default: the model's context)");
  cmd->add_option("--grad-accum", args->trainer.gradient_accumulation_steps,
                  "Micro-batches of --batch sequences per optimizer step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--loss-scaling", args->trainer.loss_scaling,
                "Dynamic loss scaling (skip steps with inf/NaN gradients; meant for fp16)");
  cmd->add_option("--loss-scale-window", args->trainer.loss_scale_window,
                  "Clean steps before the loss scale doubles")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--lr", args->lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", args->min_lr, "Final learning rate of the cosine decay")->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "Linear warmup steps")->capture_default_str();
  cmd->add_option("--weight-decay", args->trainer.adamw.weight_decay, "AdamW weight decay")->capture_default_str();
  cmd->add_option("--clip", args->trainer.clip_grad_norm, "Gradient norm clip (0: off)")->capture_default_str();
  cmd->add_option("--seed", args->trainer.seed, "Data order and split seed")->capture_default_str();
  cmd->add_option("--eval-interval", args->trainer.eval_interval, "Validate every N steps (0: before and after)")
      ->capture_default_str();
  cmd->add_option("--eval-windows", args->trainer.eval_windows, "Validation windows (0: all)")->capture_default_str();
  cmd->add_option("--log-interval", args->trainer.log_interval, "Progress line every N steps")->capture_default_str();
  cmd->add_option("--checkpoint-interval", args->trainer.checkpoint_interval, "Checkpoint every N steps (0: at the end)")
      ->capture_default_str();
  cmd->add_option("--keep-checkpoints", args->trainer.keep_checkpoints, "Checkpoints kept")->capture_default_str();
  cmd->add_flag("--resume", args->trainer.resume, "Continue from the newest checkpoint in --out");
  cmd->add_option("--max-minutes", args->max_minutes, "Stop training after this many minutes (0: no limit)");
  cmd->add_option("--max-documents", args->max_documents, "Use only the first N documents (0: all)");
  cmd->add_option("--max-bytes", args->max_bytes, "Use only the first N bytes of text (0: all)");
  cmd->add_option("--val-fraction", args->val_fraction, "Share of documents held out for validation")
      ->capture_default_str();
  cmd->callback([args] { run_train(*args); });
}

}  // namespace sieve::apps
