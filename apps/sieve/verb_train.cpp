// `sieve train`: train a model directory on a dataset (--model-path), or make a new model from a
// preset or config — tokenizer trained on the dataset — and train that (--out). Both run through
// train::MixedPrecisionTrainer: dataset cache, precision choice, checkpoints, resume, metrics,
// validation perplexity before and after, and the trained model directory.
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/sieve/attention_flags.h"
#include "apps/sieve/new_model.h"
#include "apps/sieve/run_command.h"
#include "apps/sieve/train_summary.h"
#include "apps/sieve/trifashion_train.h"
#include "apps/sieve/verbs.h"
#include "sieve/data/dataset_registry.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"
#include "sieve/train/mixed_precision_trainer.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string task = "lm";
  TrifashionTrainFlags trifashion;
  std::string model_path;
  std::vector<std::string> datasets;
  std::string out_dir;
  std::string tokenizer;
  std::string preset = "demo";
  std::string config_file;
  std::uint64_t model_seed = 0;
  std::int64_t steps = 1000;
  double epochs = 0.0;        // > 0: given, and used instead of steps
  bool steps_given = false;
  bool loss_scaling = false;  // --loss-scaling given: forced on
  std::int64_t max_documents = 0;
  std::int64_t max_bytes = 0;
  double val_fraction = 0.01;
  double max_minutes = 0.0;
  AttentionFlags attention;
  train::MixedPrecisionTrainerOptions options;
};

std::atomic<bool> g_stop{false};

extern "C" void on_interrupt(int) { g_stop.store(true); }

// --out without --model-path: out/config.json and out/tokenizer.model for a new model. Returns
// false when only that was asked for (--steps 0), after writing the untrained weights too.
bool make_new_model(const TrainArgs& args) {
  const nn::LlamaConfig config = write_new_model({.out_dir = args.out_dir,
                                                  .datasets = args.datasets,
                                                  .data_dir = args.options.data_dir,
                                                  .tokenizer = args.tokenizer,
                                                  .preset = args.preset,
                                                  .config_file = args.config_file,
                                                  .attention = args.attention});
  if (args.steps > 0 || args.epochs > 0) return true;
  const nn::LlamaForCausalLM model(config, args.model_seed);
  io::save_model(model, args.out_dir);
  std::printf("untrained model (%.2fM parameters) saved to %s (config.json, model.safetensors, tokenizer.model)\n",
              static_cast<double>(model.parameter_count()) / 1e6, args.out_dir.c_str());
  return false;
}

void run_train(TrainArgs args) {
  // Checked first, so a typo fails before minutes of tokenizer training.
  train::check_precision_mode(args.options.precision_mode);
  const bool new_model = args.model_path.empty();
  SIEVE_USER_CHECK(!new_model || !args.out_dir.empty(),
                   "give --model-path DIR (train a model directory) or --out DIR (a new model from --preset or "
                   "--config)");
  SIEVE_USER_CHECK(!args.steps_given || args.steps > 0 || new_model,
                   "--steps must be > 0 with --model-path (--steps 0 only creates a new model with --out)");
  SIEVE_USER_CHECK(args.steps >= 0, "--steps must be >= 0, got {}", args.steps);
  const bool init_only = new_model && args.steps == 0 && args.epochs <= 0;
  SIEVE_USER_CHECK(!args.datasets.empty() || (init_only && !args.tokenizer.empty()),
                   "--dataset: give at least one (gcide, foldoc, wikitext-103, wikitext-2, or a text file)");

  SIEVE_USER_CHECK(args.options.scorer_warmup_steps >= 0, "--scorer-warmup-steps must be >= 0 (0: off), got {}",
                   args.options.scorer_warmup_steps);
  SIEVE_USER_CHECK(std::isfinite(args.options.scorer_distill_weight) && args.options.scorer_distill_weight > 0.0f,
                   "--scorer-distill-weight must be a number > 0, got {}", args.options.scorer_distill_weight);
  train::check_scorer_distill_emphasis(args.options.scorer_distill_emphasis);
  SIEVE_USER_CHECK(args.options.dense_blend_steps >= 0, "--dense-blend-steps must be >= 0 (0: off), got {}",
                   args.options.dense_blend_steps);
  for (const auto& name : args.datasets) data::resolve_dataset(name, args.options.data_dir);  // fail early
  {
    nn::AttentionConfig check;
    apply_attention_flags(args.attention, check);  // fail early on a bad knob
  }
  SIEVE_USER_CHECK(new_model || !args.attention.any_given(),
                   "--attention and the sparse flags shape a new model (--out); a --model-path model keeps the "
                   "attention in its config.json");
  if (new_model && (args.options.scorer_warmup_steps > 0 || args.options.dense_blend_steps > 0)) {
    // Before the tokenizer is trained (minutes); a --model-path model is checked once loaded.
    nn::LlamaConfig config =
        args.config_file.empty() ? nn::preset_config(args.preset) : io::load_llama_config(args.config_file);
    apply_attention_flags(args.attention, config.attention);
    bool sparse = false;
    for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer)
      sparse = sparse || config.attention.kind(layer) == "sparse";
    SIEVE_USER_CHECK(sparse || args.options.scorer_warmup_steps == 0,
                     "--scorer-warmup-steps {}: the new model has no sparse attention layers (give --attention "
                     "sparse, or a config with sparse layers), so there is no scorer to warm up",
                     args.options.scorer_warmup_steps);
    SIEVE_USER_CHECK(sparse,
                     "--dense-blend-steps {}: the new model has no sparse attention layers (give --attention "
                     "sparse, or a config with sparse layers), so there is nothing to blend",
                     args.options.dense_blend_steps);
  }

  train::MixedPrecisionTrainerOptions& options = args.options;
  if (new_model) {
    if (!make_new_model(args)) return;
    options.model_path = args.out_dir;
    options.output_dir = args.out_dir;
    options.fresh_weights = true;  // the new model starts from its seed; --resume restores a checkpoint
    options.init_seed = args.model_seed;
  } else {
    // Its config.json decides how its sparse layers run; say so when they run dense.
    const fs::path config_file = fs::path(args.model_path) / io::kConfigFile;
    if (fs::exists(config_file))  // else the trainer reports the incomplete directory
      if (const std::string note = sparse_mode_note(io::load_llama_config(config_file), config_file.string());
          !note.empty())
        std::fprintf(stderr, "%s\n", note.c_str());
    options.model_path = args.model_path;
    options.output_dir = args.out_dir;  // empty: MODEL-PATH-trained
  }
  if (args.loss_scaling) options.loss_scaling = true;
  options.max_seconds = args.max_minutes * 60.0;

  train::MixedPrecisionTrainer trainer(options);
  write_command_file(trainer.output_dir(), "train");
  train::TrainRequest request;
  request.dataset = args.datasets.front();
  request.more_datasets.assign(args.datasets.begin() + 1, args.datasets.end());
  if (args.epochs > 0) {
    request.epochs = args.epochs;
  } else {
    request.steps = args.steps;
  }
  request.max_documents = args.max_documents;
  request.max_bytes = args.max_bytes;
  request.val_fraction = args.val_fraction;
  request.stop = &g_stop;

  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const train::MixedPrecisionTrainResult result = trainer.train(request);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  print_train_summary(result);
}

}  // namespace

void add_train_verb(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  train::MixedPrecisionTrainerOptions& options = args->options;
  options.precision_mode = "fp32";
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a model directory (--model-path) or a new model (--out with --preset/--config) on a dataset");
  CLI::Option* model_path = cmd->add_option(
      "--model-path", args->model_path,
      "Model directory to train: config.json, tokenizer.model, and model.safetensors (absent: initialised "
      "from the config); never written to");
  cmd->add_option("--dataset,--data", args->datasets,
                  "Dataset: gcide, foldoc, wikitext-103, wikitext-2, or a text / wikitext .raw / .dict.dz file");
  cmd->add_option("--data-dir", options.data_dir, "Where wikitext-103 / wikitext-2 are (default: $SIEVE_DATA)");
  cmd->add_option("--out", args->out_dir,
                  "Run directory: checkpoints, metrics, dataset cache and the trained model (default with "
                  "--model-path: MODEL-PATH-trained; without it, required: the new model's directory)");
  CLI::Option* tokenizer = cmd->add_option("--tokenizer", args->tokenizer, "New model: an existing tokenizer.model (default: train one)");
  CLI::Option* preset = cmd->add_option("--preset", args->preset, "New model size: tiny, demo, lm-17m")->capture_default_str();
  CLI::Option* config = cmd->add_option("--config", args->config_file, "New model: a config.json instead of a preset");
  CLI::Option* model_seed =
      cmd->add_option("--model-seed", args->model_seed, "New model: weight initialisation seed")->capture_default_str();
  model_path->excludes(tokenizer)->excludes(preset)->excludes(config)->excludes(model_seed);
  add_attention_flags(cmd, args->attention);  // new models only: a model directory keeps its own
  cmd->add_option("--precision", options.precision_mode,
                  "Compute precision: fp32, bf16, fp16, tf32, or auto (measure this machine and pick)")
      ->capture_default_str();
  CLI::Option* steps = cmd->add_option("--steps", args->steps,
                                       "Optimizer steps (with --out, 0: only create the untrained model)")
                           ->capture_default_str();
  CLI::Option* epochs = cmd->add_option(
      "--epochs", args->epochs,
      "Passes over the train split instead of --steps: steps = ceil(epochs × train tokens / (batch × context × "
      "grad-accum))");
  epochs->excludes(steps)->check(CLI::PositiveNumber);
  cmd->add_option("--batch", options.batch, "Sequences per micro-batch")->capture_default_str();
  cmd->add_option("--context", options.context, "Tokens per sequence (default: the model's context)");
  cmd->add_option("--grad-accum", options.gradient_accumulation_steps,
                  "Micro-batches of --batch sequences per optimizer step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--loss-scaling", args->loss_scaling,
                "Dynamic loss scaling even when the precision does not need it (fp16 turns it on by itself)");
  cmd->add_option("--loss-scale-window", options.loss_scale_window, "Clean steps before the loss scale doubles")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--lr", options.learning_rate, "Peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", options.min_learning_rate, "Final learning rate of the cosine decay")->capture_default_str();
  cmd->add_option("--warmup", options.warmup_steps, "Linear warmup steps (default: 5% of the steps)");
  cmd->add_option("--weight-decay", options.adamw.weight_decay, "AdamW weight decay")->capture_default_str();
  cmd->add_option("--clip", options.clip_grad_norm, "Gradient norm clip (0: off)")->capture_default_str();
  cmd->add_option("--seed", options.seed, "Data order and split seed")->capture_default_str();
  cmd->add_option("--eval-interval", options.eval_interval, "Validate every N steps (0: before and after)")
      ->capture_default_str();
  cmd->add_option("--eval-windows", options.eval_windows, "Validation windows (0: all)")->capture_default_str();
  cmd->add_option("--log-interval", options.log_interval, "Progress line every N steps")->capture_default_str();
  cmd->add_option("--checkpoint-interval", options.checkpoint_interval, "Checkpoint every N steps (0: at the end)")
      ->capture_default_str();
  cmd->add_option("--keep-checkpoints", options.keep_checkpoints, "Checkpoints kept")->capture_default_str();
  cmd->add_flag("--resume", options.resume, "Continue from the newest checkpoint in the run directory");
  cmd->add_flag("--activation-checkpointing", options.activation_checkpointing,
                "Recompute each decoder block in backward instead of keeping its activations (less memory)");
  cmd->add_option("--scorer-warmup-steps", options.scorer_warmup_steps,
                  "Sparse models: for the first N steps also train each importance scorer toward the peak "
                  "dense attention its tokens draw from distant queries (0: off)")
      ->capture_default_str();
  cmd->add_option("--scorer-distill-weight", options.scorer_distill_weight,
                  "Weight of that distillation loss (per sparse layer) during the scorer warm-up")
      ->capture_default_str();
  cmd->add_option("--scorer-distill-emphasis", options.scorer_distill_emphasis,
                  "Weight each key's distillation term by 1 + alpha * target^2, so rare keys that distant queries "
                  "read are fitted (0: plain mean)")
      ->capture_default_str();
  cmd->add_option("--dense-blend-steps", options.dense_blend_steps,
                  "Sparse models: for the first N steps mix dense attention into each sparse layer's output, its "
                  "share annealed from 1 to 0 (0: off)")
      ->capture_default_str();
  cmd->add_option("--max-minutes", args->max_minutes, "Stop training after this many minutes (0: no limit)");
  cmd->add_option("--max-documents", args->max_documents, "Use only the first N documents (0: all)");
  cmd->add_option("--max-bytes", args->max_bytes, "Use only the first N bytes of text (0: all)");
  cmd->add_option("--val-fraction", args->val_fraction,
                  "Share of documents held out for validation (datasets without their own split)")
      ->capture_default_str();
  cmd->add_option("--task", args->task,
                  "lm (a language model on text) or trifashion (the trimodal model on a trifashion data set, "
                  "in stages)")
      ->capture_default_str();
  add_trifashion_train_flags(cmd, args->trifashion);
  CLI::Option* batch = cmd->get_option("--batch");
  cmd->callback([args, steps, batch] {
    args->steps_given = steps->count() > 0;
    if (args->task == "trifashion") {
      SIEVE_USER_CHECK(args->datasets.size() <= 1, "--task trifashion takes one --data directory");
      SIEVE_USER_CHECK(!args->steps_given, "--task trifashion counts steps per stage: give --steps-per-stage");
      run_trifashion_train(args->trifashion, {.data_dir = args->datasets.empty() ? "" : args->datasets.front(),
                                              .out_dir = args->out_dir,
                                              .options = &args->options,
                                              .batch_given = batch->count() > 0,
                                              .model_seed = args->model_seed,
                                              .max_minutes = args->max_minutes,
                                              .loss_scaling = args->loss_scaling});
      return;
    }
    SIEVE_USER_CHECK(args->task == "lm", "--task must be lm or trifashion, got '{}'", args->task);
    for (const CLI::Option* option : args->trifashion.options)
      SIEVE_USER_CHECK(option->count() == 0, "{} is a flag of --task trifashion", option->get_name());
    run_train(*args);
  });
}

}  // namespace sieve::apps
