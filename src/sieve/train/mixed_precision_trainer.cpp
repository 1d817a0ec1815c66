#include "sieve/train/mixed_precision_trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/data/dataset_cache.h"
#include "sieve/data/token_shard.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"

namespace sieve::train {
namespace {

namespace fs = std::filesystem;

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Symlinks and "a/../b" resolved where the paths exist; compared lexically where they cannot be.
bool same_directory(const fs::path& a, const fs::path& b) {
  const auto normal = [](const fs::path& path) {
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(fs::absolute(path), ec);
    if (ec) resolved = fs::absolute(path).lexically_normal();
    if (!resolved.has_filename()) resolved = resolved.parent_path();
    return resolved;
  };
  return normal(a) == normal(b);
}

// "models/base/" -> "/abs/models/base-trained".
fs::path default_output_dir(const fs::path& model_path) {
  fs::path dir = fs::absolute(model_path).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  return dir.concat("-trained");
}

MixedPrecisionTrainerOptions checked(MixedPrecisionTrainerOptions options) {
  const fs::path& dir = options.model_path;
  SIEVE_USER_CHECK(!dir.empty(), "model_path is empty: give a model directory ({} and {}, optionally {})",
                   io::kConfigFile, io::kTokenizerFile, io::kWeightsFile);
  std::error_code ec;
  SIEVE_USER_CHECK(fs::is_directory(dir, ec),
                   "model directory '{}' does not exist or is not a directory (expected {} and {} in it)",
                   dir.string(), io::kConfigFile, io::kTokenizerFile);
  SIEVE_USER_CHECK(is_file(dir / io::kConfigFile), "model directory '{}' has no {} (the model's shape)", dir.string(),
                   io::kConfigFile);
  SIEVE_USER_CHECK(is_file(dir / io::kTokenizerFile),
                   "model directory '{}' has no {} (the dataset is tokenized with the model's own tokenizer)",
                   dir.string(), io::kTokenizerFile);
  SIEVE_USER_CHECK(options.gradient_accumulation_steps > 0, "gradient_accumulation_steps (--grad-accum) must be > 0, got {}",
                   options.gradient_accumulation_steps);
  SIEVE_USER_CHECK(options.loss_scale_window > 0, "loss_scale_window (--loss-scale-window) must be > 0, got {}",
                   options.loss_scale_window);
  SIEVE_USER_CHECK(options.batch > 0, "batch (--batch) must be > 0, got {}", options.batch);
  SIEVE_USER_CHECK(options.context >= 0, "context (--context) must be >= 0 (0: the model's), got {}", options.context);
  if (options.output_dir.empty()) options.output_dir = default_output_dir(dir);
  const bool reads_weights = !options.fresh_weights && is_file(dir / io::kWeightsFile);
  SIEVE_USER_CHECK(!reads_weights || !same_directory(options.output_dir, dir),
                   "the output directory '{}' is the model directory: training would overwrite the weights it "
                   "starts from; choose another output directory (--out)",
                   options.output_dir.string());
  return options;
}

}  // namespace

MixedPrecisionTrainer::MixedPrecisionTrainer(MixedPrecisionTrainerOptions options)
    : options_(checked(std::move(options))),
      tokenizer_(data::Tokenizer::load(options_.model_path / io::kTokenizerFile)) {
  const fs::path weights = options_.model_path / io::kWeightsFile;
  const bool load_weights = !options_.fresh_weights && is_file(weights);
  if (load_weights) {
    model_ = io::load_model(options_.model_path);
  } else {
    model_ = std::make_unique<nn::LlamaForCausalLM>(io::load_llama_config(options_.model_path / io::kConfigFile),
                                                    options_.init_seed);
  }
  model_->set_activation_checkpointing(options_.activation_checkpointing);
  check_scorer_warmup(*model_, options_.scorer_warmup_steps, options_.scorer_distill_weight);  // before any data work
  check_dense_blend(*model_, options_.dense_blend_steps);
  check_scorer_distill_emphasis(options_.scorer_distill_emphasis);
  const nn::LlamaConfig& config = model_->config();
  SIEVE_USER_CHECK(tokenizer_.vocab_size() <= config.vocab_size,
                   "model directory '{}': the tokenizer has {} pieces but config.json's vocab_size is {}",
                   options_.model_path.string(), tokenizer_.vocab_size(), config.vocab_size);
  if (options_.context == 0) options_.context = config.max_position_embeddings;
  SIEVE_USER_CHECK(options_.context <= config.max_position_embeddings,
                   "context (--context) must be in [1, {}] (the model's max_position_embeddings), got {}",
                   config.max_position_embeddings, options_.context);
  if (options_.log)
    std::fprintf(stderr, "model: %s, %.2fM parameters (%lld layers, hidden %lld, context %lld), %s\n",
                 options_.model_path.c_str(), static_cast<double>(model_->parameter_count()) / 1e6,
                 static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.hidden_size),
                 static_cast<long long>(options_.context),
                 load_weights ? "weights loaded"
                              : fmt::format("weights initialised (seed {})", options_.init_seed).c_str());
  precision_ = choose_precision(options_.precision_mode, config, options_.batch * options_.context,
                                options_.precision_choice);
  if (options_.log) {
    std::string_view report = precision_.report;
    while (!report.empty() && report.back() == '\n') report.remove_suffix(1);
    std::fprintf(stderr, "%.*s\n", static_cast<int>(report.size()), report.data());
  }
}

MixedPrecisionTrainer::~MixedPrecisionTrainer() = default;

std::int64_t MixedPrecisionTrainer::steps_for_epochs(double epochs, std::int64_t train_tokens) const {
  const double tokens_per_step =
      static_cast<double>(options_.batch * options_.context * options_.gradient_accumulation_steps);
  const double steps = std::ceil(epochs * static_cast<double>(train_tokens) / tokens_per_step);
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(steps));
}

MixedPrecisionTrainResult MixedPrecisionTrainer::train(const TrainRequest& request) {
  SIEVE_USER_CHECK(request.steps >= 0, "steps (--steps) must be >= 0, got {}", request.steps);
  SIEVE_USER_CHECK(request.steps > 0 || (std::isfinite(request.epochs) && request.epochs > 0),
                   "epochs (--epochs) must be > 0, got {}", request.epochs);
  const fs::path& out = options_.output_dir;
  fs::create_directories(out);

  data::DatasetRecipe recipe;
  recipe.datasets.push_back(request.dataset);
  recipe.datasets.insert(recipe.datasets.end(), request.more_datasets.begin(), request.more_datasets.end());
  recipe.data_dir = options_.data_dir;
  recipe.max_documents = request.max_documents;
  recipe.max_bytes = request.max_bytes;
  recipe.val_fraction = request.val_fraction;
  recipe.seed = options_.seed;
  recipe.log = options_.log;
  const data::CachedDataset dataset = data::prepare_cached_dataset(out / "data", recipe, tokenizer_);

  MixedPrecisionTrainResult result;
  result.precision = precision_;
  result.tokens_per_step = options_.batch * options_.context * options_.gradient_accumulation_steps;
  result.train_tokens = dataset.shards.train_tokens;
  result.val_tokens = dataset.shards.val_tokens;
  result.own_validation = dataset.own_validation;
  result.steps = request.steps > 0 ? request.steps : steps_for_epochs(request.epochs, result.train_tokens);
  result.epochs = static_cast<double>(result.steps * result.tokens_per_step) /
                  static_cast<double>(std::max<std::int64_t>(1, result.train_tokens));
  result.loss_scaling = options_.loss_scaling.value_or(precision_.loss_scaling);

  TrainerOptions trainer_options;
  trainer_options.steps = result.steps;
  trainer_options.batch = options_.batch;
  trainer_options.gradient_accumulation_steps = options_.gradient_accumulation_steps;
  trainer_options.context = options_.context;
  trainer_options.schedule.peak_lr = options_.learning_rate;
  trainer_options.schedule.min_lr = options_.min_learning_rate;
  trainer_options.schedule.warmup_steps =
      options_.warmup_steps >= 0 ? options_.warmup_steps : std::max<std::int64_t>(1, result.steps / 20);
  trainer_options.adamw = options_.adamw;
  trainer_options.clip_grad_norm = options_.clip_grad_norm;
  trainer_options.seed = options_.seed;
  trainer_options.eval_interval = options_.eval_interval;
  trainer_options.eval_windows = options_.eval_windows;
  trainer_options.log_interval = options_.log_interval;
  trainer_options.run_dir = out;
  trainer_options.checkpoint_interval = options_.checkpoint_interval;
  trainer_options.keep_checkpoints = options_.keep_checkpoints;
  trainer_options.resume = options_.resume;
  trainer_options.max_seconds = options_.max_seconds;
  trainer_options.precision = precision_.policy;
  trainer_options.loss_scaling = result.loss_scaling;
  trainer_options.loss_scale_window = options_.loss_scale_window;
  trainer_options.initial_loss_scale = options_.initial_loss_scale;
  trainer_options.scorer_warmup_steps = options_.scorer_warmup_steps;
  trainer_options.scorer_distill_weight = options_.scorer_distill_weight;
  trainer_options.dense_blend_steps = options_.dense_blend_steps;
  trainer_options.scorer_distill_emphasis = options_.scorer_distill_emphasis;
  if (options_.log)
    std::fprintf(stderr,
                 "training: %lld steps of %lld tokens (%lld × %lld × %lld accumulated) = %.3g epochs of %lld train "
                 "tokens; precision %s%s\n",
                 static_cast<long long>(result.steps), static_cast<long long>(result.tokens_per_step),
                 static_cast<long long>(options_.batch), static_cast<long long>(options_.context),
                 static_cast<long long>(options_.gradient_accumulation_steps), result.epochs,
                 static_cast<long long>(result.train_tokens), ops::describe(precision_.policy).c_str(),
                 result.loss_scaling ? ", dynamic loss scaling" : "");

  Trainer trainer(*model_, data::TokenShard::open(dataset.shards.train_path),
                  data::TokenShard::open(dataset.shards.val_path), trainer_options);
  trainer.on_step = [&](std::int64_t step, double loss) {
    result.losses.push_back(loss);
    if (on_step) on_step(step, loss);
  };
  result.run = trainer.run(request.stop);

  io::save_model(*model_, out);
  core::write_file_atomically(out / io::kTokenizerFile, tokenizer_.serialized());
  result.model_dir = out;
  return result;
}

}  // namespace sieve::train
