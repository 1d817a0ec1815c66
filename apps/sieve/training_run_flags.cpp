#include "apps/sieve/training_run_flags.h"

#include <cstdio>

#include "sieve/train/precision_choice.h"

namespace sieve::apps {

void add_training_run_flags(CLI::App* cmd, TrainingRunFlags& flags) {
  train::TrainerOptions& trainer = flags.trainer;
  cmd->add_option("--data,--dataset", flags.dataset.datasets,
                  "Dataset: gcide, foldoc, wikitext-103, wikitext-2, or a text / wikitext .raw / .dict.dz file")
      ->required();
  cmd->add_option("--data-dir", flags.dataset.data_dir, "Where wikitext-103 / wikitext-2 are (default: $SIEVE_DATA)");
  cmd->add_option("--steps", trainer.steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--batch", trainer.batch, "Sequences per micro-batch")->capture_default_str();
  cmd->add_option("--grad-accum", trainer.gradient_accumulation_steps,
                  "Micro-batches of --batch sequences per optimizer step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--context", trainer.context, "Tokens per sequence (default: the model's context)");
  cmd->add_option("--lr", flags.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", flags.min_lr, "Final learning rate of the cosine decay")->capture_default_str();
  cmd->add_option("--warmup", flags.warmup, "Linear warmup steps")->capture_default_str();
  cmd->add_option("--weight-decay", trainer.adamw.weight_decay, "AdamW weight decay")->capture_default_str();
  cmd->add_option("--clip", trainer.clip_grad_norm, "Gradient norm clip (0: off)")->capture_default_str();
  cmd->add_option("--seed", trainer.seed, "Data order and split seed")->capture_default_str();
  cmd->add_option("--eval-interval", trainer.eval_interval, "Validate every N steps (0: before and after)")
      ->capture_default_str();
  cmd->add_option("--eval-windows", trainer.eval_windows, "Validation windows (0: all)")->capture_default_str();
  cmd->add_option("--log-interval", trainer.log_interval, "Progress line every N steps")->capture_default_str();
  cmd->add_option("--checkpoint-interval", trainer.checkpoint_interval, "Checkpoint every N steps (0: at the end)")
      ->capture_default_str();
  cmd->add_option("--keep-checkpoints", trainer.keep_checkpoints, "Checkpoints kept")->capture_default_str();
  cmd->add_flag("--resume", trainer.resume, "Continue from the newest checkpoint in --out");
  cmd->add_option("--precision", flags.precision, "Compute precision: fp32, bf16, fp16, tf32, or auto")
      ->capture_default_str();
  cmd->add_flag("--activation-checkpointing", flags.activation_checkpointing,
                "Recompute each decoder block in backward instead of keeping its activations (less memory)");
  cmd->add_option("--max-documents", flags.dataset.max_documents, "Use only the first N documents (0: all)");
  cmd->add_option("--max-bytes", flags.dataset.max_bytes, "Use only the first N bytes of text (0: all)");
  cmd->add_option("--val-fraction", flags.dataset.val_fraction, "Share of documents held out for validation")
      ->capture_default_str();
}

train::TrainerOptions settle_training_run(const TrainingRunFlags& flags, nn::LlamaForCausalLM& model,
                                          const std::filesystem::path& run_dir) {
  train::TrainerOptions options = flags.trainer;
  if (options.context == 0) options.context = model.config().max_position_embeddings;
  const train::PrecisionChoice precision =
      train::choose_precision(flags.precision, model.config(), options.batch * options.context);
  std::fprintf(stderr, "%s", precision.report.c_str());
  options.precision = precision.policy;
  options.loss_scaling = options.loss_scaling || precision.loss_scaling;
  model.set_activation_checkpointing(flags.activation_checkpointing);
  options.schedule.peak_lr = flags.lr;
  options.schedule.min_lr = flags.min_lr;
  options.schedule.warmup_steps = flags.warmup;
  options.run_dir = run_dir;
  return options;
}

data::PrepareResult prepare_training_data(const TrainingRunFlags& flags, const data::Tokenizer& tokenizer,
                                          const std::filesystem::path& run_dir) {
  data::DatasetRecipe recipe = flags.dataset;
  recipe.seed = flags.trainer.seed;
  return data::prepare_cached_dataset(run_dir / "data", recipe, tokenizer).shards;
}

}  // namespace sieve::apps
