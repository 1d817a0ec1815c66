// `sieve prune`: structured pruning of a model directory (docs/compression.md, "Structured
// pruning"): the importance of every attention head group, MLP channel and decoder layer
// (magnitude, activation or taylor; compress/prune/importance.h), a plan for fixed per-layer
// widths or a FLOP budget (prune_plan.h), the weights sliced into a smaller model whose config
// carries per-layer widths (prune_model.h), and optionally a short recovery fine-tune on the
// calibration corpus with the trainer.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "apps/sieve/training_run_flags.h"
#include "apps/sieve/verbs.h"
#include "sieve/compress/calibration_data.h"
#include "sieve/compress/prune/importance.h"
#include "sieve/compress/prune/prune_model.h"
#include "sieve/compress/prune/prune_plan.h"
#include "sieve/data/dataset_cache.h"
#include "sieve/data/token_shard.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/train/trainer.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

struct PruneArgs {
  std::string model_dir;
  std::string out_dir;
  std::optional<double> target_flops;
  std::optional<std::int64_t> heads;
  std::optional<double> ffn_keep;
  std::optional<std::int64_t> layers;
  std::string importance = "activation";
  std::string calibration;
  std::int64_t calibration_batches = 8;
  std::int64_t calibration_batch = 4;
  std::int64_t recover_steps = 0;
  std::int64_t recover_batch = 8;
  float recover_lr = 3e-4f;
  std::int64_t recover_warmup = 5;
  std::int64_t recover_max_bytes = 8'000'000;
  std::uint64_t seed = 0;
};

void check_args(const PruneArgs& args) {
  const fs::path source(args.model_dir);
  SIEVE_USER_CHECK(fs::is_directory(source), "--model {}: no such directory", args.model_dir);
  SIEVE_USER_CHECK(fs::is_regular_file(source / io::kConfigFile) && fs::is_regular_file(source / io::kWeightsFile),
                   "--model {} is not a model directory (it needs {} and {})", args.model_dir, io::kConfigFile,
                   io::kWeightsFile);
  SIEVE_USER_CHECK(!io::read_config_json(source / io::kConfigFile).contains(io::kQuantizationSection),
                   "--model {} is a quantized model: prune the f32 model it was quantized from, then quantize the "
                   "pruned one",
                   args.model_dir);
  SIEVE_USER_CHECK(!fs::exists(args.out_dir) || fs::weakly_canonical(source) != fs::weakly_canonical(args.out_dir),
                   "--out must be another directory than --model (the source model stays as it is)");
  const bool fixed = args.heads || args.ffn_keep;
  SIEVE_USER_CHECK(args.target_flops || fixed || args.layers,
                   "say what to keep: --target-flops F, or any of --heads N, --ffn-keep R, --layers L");
  SIEVE_USER_CHECK(!(args.target_flops && fixed),
                   "--target-flops chooses the heads and MLP channels itself; it combines with --layers only, "
                   "not with --heads or --ffn-keep");
  const auto criterion = compress::importance_criterion_from_name(args.importance);
  SIEVE_USER_CHECK(criterion.has_value(), "--importance must be activation, taylor or magnitude, got '{}'",
                   args.importance);
  SIEVE_USER_CHECK(*criterion == compress::ImportanceCriterion::magnitude || !args.calibration.empty(),
                   "--importance {} is measured on calibration data: give --calibration CORPUS (gcide, foldoc or a "
                   "text file), or use --importance magnitude",
                   args.importance);
  SIEVE_USER_CHECK(args.recover_steps >= 0, "--recover-steps must be >= 0, got {}", args.recover_steps);
  SIEVE_USER_CHECK(args.recover_steps == 0 || !args.calibration.empty(),
                   "--recover-steps fine-tunes on the calibration corpus: give --calibration CORPUS");
  SIEVE_USER_CHECK(args.calibration_batches >= 1 && args.calibration_batch >= 1,
                   "--calibration-batches and --calibration-batch must be >= 1, got {} and {}",
                   args.calibration_batches, args.calibration_batch);
  SIEVE_USER_CHECK(args.recover_batch >= 1 && std::isfinite(args.recover_lr) && args.recover_lr > 0.0f &&
                       args.recover_warmup >= 0 && args.recover_max_bytes >= 0,
                   "--recover-batch must be >= 1, --recover-lr > 0, --recover-warmup and --recover-max-bytes >= 0");
}

std::string layer_widths(const nn::LlamaConfig& c) {
  std::string out;
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l)
    out += fmt::format("  layer {:>3}: {:>3} heads ({} kv), MLP {:>6}  {}\n", l, c.heads(l), c.kv_heads(l),
                       c.intermediate(l), c.attention.kind(l));
  return out;
}

// Fine-tunes `model` on the calibration corpus's training split; the run's files go to run_dir.
void recover(nn::LlamaForCausalLM& model, const PruneArgs& args, const data::Tokenizer& tokenizer,
             const fs::path& run_dir) {
  TrainingRunFlags run;
  run.dataset.datasets = {args.calibration};
  run.dataset.max_bytes = args.recover_max_bytes;
  run.trainer.context = 0;  // the model's own
  run.trainer.steps = args.recover_steps;
  run.trainer.batch = args.recover_batch;
  run.trainer.adamw.weight_decay = 0.0f;
  run.trainer.eval_windows = 32;
  run.trainer.seed = args.seed;
  run.lr = args.recover_lr;
  run.min_lr = args.recover_lr / 10.0f;
  run.warmup = std::min(args.recover_warmup, args.recover_steps);
  const train::TrainerOptions options = settle_training_run(run, model, run_dir);
  const data::PrepareResult dataset = prepare_training_data(run, tokenizer, run_dir);
  model.set_training(true);
  train::Trainer trainer(model, data::TokenShard::open(dataset.train_path), data::TokenShard::open(dataset.val_path),
                         options);
  const train::TrainResult result = trainer.run(nullptr);
  model.set_training(false);
  std::printf("recovery: %lld steps on %s, validation perplexity (its split) %.2f -> %.2f\n",
              static_cast<long long>(result.steps_done), args.calibration.c_str(), std::exp(result.initial_val_loss),
              std::exp(result.final_val_loss));
}

void run_prune(const PruneArgs& args) {
  check_args(args);
  const fs::path source(args.model_dir), out(args.out_dir);
  const auto criterion = *compress::importance_criterion_from_name(args.importance);
  auto model = io::load_model(source);
  model->set_training(false);
  const nn::LlamaConfig& config = model->config();

  std::vector<core::Tensor> batches;
  std::optional<data::Tokenizer> tokenizer;
  if (!args.calibration.empty()) {
    SIEVE_USER_CHECK(fs::exists(source / io::kTokenizerFile),
                     "--model {} has no {} (calibration text is tokenized with the model's own tokenizer)",
                     args.model_dir, io::kTokenizerFile);
    tokenizer = data::Tokenizer::load(source / io::kTokenizerFile);
    compress::CalibrationDataOptions options;
    options.windows = args.calibration_batches * args.calibration_batch;
    options.batch = args.calibration_batch;
    options.context = config.max_position_embeddings;
    options.split.seed = args.seed;
    batches = compress::read_calibration_batches(args.calibration, *tokenizer, options);
  }
  const compress::UnitImportance importance = compress::measure_importance(*model, criterion, batches);
  const compress::PrunePlan plan =
      args.target_flops ? compress::plan_for_flops(config, importance, *args.target_flops, args.layers)
                        : compress::plan_fixed(config, importance, {args.heads, args.ffn_keep, args.layers});
  auto pruned = compress::prune_model(*model, plan);
  pruned->set_training(false);

  if (args.recover_steps > 0) recover(*pruned, args, *tokenizer, out / "recover");
  io::save_model(*pruned, out);
  if (fs::exists(source / io::kTokenizerFile))
    fs::copy_file(source / io::kTokenizerFile, out / io::kTokenizerFile, fs::copy_options::overwrite_existing);
  if (args.recover_steps > 0) fs::remove_all(out / "recover");

  const std::int64_t T = config.max_position_embeddings;
  const double flops_before = compress::forward_flops(config, T), flops_after = compress::forward_flops(pruned->config(), T);
  std::printf("pruned %s into %s by %s importance%s\n", args.model_dir.c_str(), args.out_dir.c_str(),
              args.importance.c_str(),
              batches.empty() ? "" : fmt::format(" ({} calibration windows of {})", args.calibration_batches *
                                                     args.calibration_batch, args.calibration).c_str());
  std::printf("parameters: %lld -> %lld (%.1f%%)\n", static_cast<long long>(model->parameter_count()),
              static_cast<long long>(pruned->parameter_count()),
              100.0 * static_cast<double>(pruned->parameter_count()) / static_cast<double>(model->parameter_count()));
  std::printf("forward FLOPs per %lld-token sequence: %.3g -> %.3g (%.1f%% kept)\n", static_cast<long long>(T),
              flops_before, flops_after, 100.0 * flops_after / flops_before);
  std::printf("layers: %lld -> %lld (kept source layers:", static_cast<long long>(config.num_hidden_layers),
              static_cast<long long>(pruned->config().num_hidden_layers));
  for (const std::int64_t l : plan.layers) std::printf(" %lld", static_cast<long long>(l));
  std::printf(")\n%s", layer_widths(pruned->config()).c_str());
}

}  // namespace

void add_prune_verb(CLI::App& app) {
  auto args = std::make_shared<PruneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "prune", "Structured pruning: remove attention heads, MLP channels and layers, writing a smaller model directory");
  cmd->add_option("--model", args->model_dir, "The f32 model directory")->required();
  cmd->add_option("--out", args->out_dir, "Directory for the pruned model (config.json with per-layer widths)")
      ->required();
  cmd->add_option("--target-flops", args->target_flops,
                  "Share of the forward FLOPs (one sequence at the model's context length) to keep, in (0, 1]: "
                  "heads and MLP channels removed in one global order of importance per FLOP");
  cmd->add_option("--heads", args->heads,
                  "Query heads kept per layer (whole key/value groups: a multiple of heads / kv heads)");
  cmd->add_option("--ffn-keep", args->ffn_keep, "Share of MLP channels kept per layer, in (0, 1]");
  cmd->add_option("--layers", args->layers, "Decoder layers kept (the least important are dropped)");
  cmd->add_option("--importance", args->importance,
                  "Importance criterion: activation (output norms on calibration data), taylor (|w * dL/dw| on "
                  "calibration batches) or magnitude (weight norms)")
      ->capture_default_str();
  cmd->add_option("--calibration", args->calibration,
                  "Corpus for activation / taylor importance and recovery: gcide, foldoc, or a text file (its "
                  "training split)");
  cmd->add_option("--calibration-batches", args->calibration_batches, "Calibration batches")->capture_default_str();
  cmd->add_option("--calibration-batch", args->calibration_batch, "Windows (at the model's context) per batch")
      ->capture_default_str();
  cmd->add_option("--recover-steps", args->recover_steps,
                  "Fine-tune the pruned model this many steps on --calibration (0: off)")
      ->capture_default_str();
  cmd->add_option("--recover-batch", args->recover_batch, "Recovery: sequences per step")->capture_default_str();
  cmd->add_option("--recover-lr", args->recover_lr, "Recovery: peak learning rate (cosine to a tenth)")
      ->capture_default_str();
  cmd->add_option("--recover-warmup", args->recover_warmup, "Recovery: linear warmup steps")->capture_default_str();
  cmd->add_option("--recover-max-bytes", args->recover_max_bytes,
                  "Recovery: tokenize only the first N bytes of the corpus (0: all)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Split and data-order seed (as train's --seed)")->capture_default_str();
  cmd->callback([args] { run_prune(*args); });
}

}  // namespace sieve::apps
