// Training a model directory on a named dataset, in a chosen or measured precision — the
// high-level API over data (dataset_cache.h), io (model_dir.h), precision_choice.h and Trainer:
//
//   sieve::train::MixedPrecisionTrainer trainer({
//       .model_path = "models/sieve-base",
//       .precision_mode = "auto",            // fp32 | bf16 | fp16 | tf32 | auto
//       .gradient_accumulation_steps = 8,
//       .loss_scale_window = 1024});
//   trainer.train({.dataset = "wikitext-103", .epochs = 10});
//
// The model directory (io/model_dir.h) needs config.json and tokenizer.model (the dataset is
// tokenized with the model's own tokenizer). model.safetensors is loaded when present; when it
// is absent (or fresh_weights is set) the weights are initialised from the config with
// init_seed — so a directory holding just a config and a tokenizer is a model to train from
// scratch.
//
// The input directory is never written to. Everything a run makes goes to output_dir (default:
// the model path with "-trained" appended): data/ (the tokenized dataset cache),
// checkpoints/, metrics.jsonl, and the trained model — config.json, model.safetensors and
// tokenizer.model, each replaced atomically, so a crash leaves the previous complete file. The
// one exception is output_dir naming the model directory itself, allowed only when no weights
// are read from it (no model.safetensors there, or fresh_weights): nothing trained is lost then.
//
// Epochs become optimizer steps: one step consumes batch × context × gradient_accumulation_steps
// tokens, and steps = ceil(epochs × train tokens / tokens per step), at least 1 — rounding up, so
// a run sees at least `epochs` passes' worth of tokens. (Rows are windows at random positions,
// data/batch_loader.h, so an "epoch" is a token count, not a guarantee that every token is seen.)
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sieve/data/tokenizer.h"
#include "sieve/nn/models/llama.h"
#include "sieve/train/adamw.h"
#include "sieve/train/precision_choice.h"
#include "sieve/train/trainer.h"

namespace sieve::train {

struct MixedPrecisionTrainerOptions {
  // The four fields of the documented shape come first, in this order (designated initializers
  // must follow declaration order). Class-type members carry `{}` so that designated
  // initializers naming only some fields compile without -Wmissing-field-initializers.
  std::filesystem::path model_path{};
  std::string precision_mode = "auto";  // fp32 | bf16 | fp16 | tf32 | auto (precision_choice.h)
  std::int64_t gradient_accumulation_steps = 1;
  std::int64_t loss_scale_window = 1000;  // clean steps before the loss scale doubles

  std::filesystem::path output_dir{};  // empty: "<model_path>-trained"
  std::int64_t batch = 8;            // sequences per micro-batch
  std::int64_t context = 0;          // tokens per sequence; 0: the model's max_position_embeddings
  float learning_rate = 1e-3f;       // peak of the cosine schedule
  float min_learning_rate = 1e-4f;   // its end
  std::int64_t warmup_steps = -1;    // linear warmup; -1: 5% of the run's steps (at least 1)
  AdamWOptions adamw{};
  double clip_grad_norm = 1.0;       // <= 0: off
  std::filesystem::path data_dir{};  // where WikiText is (empty: $SIEVE_DATA)
  std::uint64_t seed = 0;            // data order and the random validation split
  bool resume = false;               // continue from output_dir's newest checkpoint
  std::int64_t checkpoint_interval = 0;  // 0: only at the end
  int keep_checkpoints = 3;
  std::int64_t eval_interval = 0;    // validate every N steps (0: before and after only)
  std::int64_t eval_windows = 64;    // validation windows (0: the whole validation split)
  std::int64_t log_interval = 10;    // progress line every N steps
  bool log = true;                   // the precision report and summary lines on stderr
  double max_seconds = 0.0;          // stop (and checkpoint) after this much training; 0: none
  // Dynamic loss scaling: unset follows the precision choice (on for fp16); set forces it.
  std::optional<bool> loss_scaling{};
  float initial_loss_scale = 65536.0f;
  bool fresh_weights = false;        // ignore model.safetensors and initialise from the config
  std::uint64_t init_seed = 0;       // for initialised weights
  PrecisionChoiceOptions precision_choice{};  // the `auto` measurement's cache and budget
  bool activation_checkpointing = false;      // recompute each block in backward (less memory)
  // Scorer warm-up by distillation for the first N steps (0: off) and its loss weight; see
  // TrainerOptions. N > 0 needs a model with sparse attention layers.
  std::int64_t scorer_warmup_steps = 0;
  float scorer_distill_weight = 1.0f;
  float scorer_distill_emphasis = 0.0f;  // see TrainerOptions
  // Dense-to-sparse blend over the first N steps (0: off); see TrainerOptions. N > 0 needs a
  // model with sparse attention layers.
  std::int64_t dense_blend_steps = 0;
};

struct TrainRequest {
  std::string dataset{};              // gcide, foldoc, wikitext-103, wikitext-2, or a path
  double epochs = 1.0;                // passes over the train split (see the header comment)
  std::int64_t steps = 0;             // > 0: exactly this many optimizer steps; epochs ignored
  std::vector<std::string> more_datasets{};  // trained on together with `dataset`
  std::int64_t max_documents = 0;     // quick runs: use only the first N documents (0: all)
  std::int64_t max_bytes = 0;         // ... or the first N bytes of text (0: all)
  double val_fraction = 0.01;         // validation share for datasets without their own split
  const std::atomic<bool>* stop = nullptr;  // set it (e.g. from a signal handler) to stop early
};

struct MixedPrecisionTrainResult {
  PrecisionChoice precision;       // the decision and its report
  bool loss_scaling = false;       // in force for the run
  std::int64_t steps = 0;          // the run's planned optimizer steps
  std::int64_t tokens_per_step = 0;
  std::int64_t train_tokens = 0;   // in the train split
  std::int64_t val_tokens = 0;
  bool own_validation = false;     // validated on the dataset's own split
  double epochs = 0.0;             // steps × tokens per step / train tokens
  std::vector<double> losses;      // mean train loss of each step run by this call
  TrainResult run;                 // what Trainer::run reported (validation loss, tokens/s, ...)
  std::filesystem::path model_dir; // where the trained model was saved
};

class MixedPrecisionTrainer {
 public:
  // Loads the model directory and decides the precision (printing its report when options.log).
  // Throws core::UserError for a missing or malformed directory, a bad option or precision mode.
  explicit MixedPrecisionTrainer(MixedPrecisionTrainerOptions options);
  ~MixedPrecisionTrainer();
  MixedPrecisionTrainer(const MixedPrecisionTrainer&) = delete;
  MixedPrecisionTrainer& operator=(const MixedPrecisionTrainer&) = delete;

  // Tokenizes the dataset (cached under output_dir/data), trains, and saves the model to
  // output_dir. Calling it again trains the same in-memory model further.
  MixedPrecisionTrainResult train(const TrainRequest& request);

  const nn::LlamaForCausalLM& model() const { return *model_; }
  const PrecisionChoice& precision() const { return precision_; }
  const std::filesystem::path& output_dir() const { return options_.output_dir; }
  // Planned optimizer steps for `epochs` over `train_tokens` (the rounding described above).
  std::int64_t steps_for_epochs(double epochs, std::int64_t train_tokens) const;

  // Called after each step with its number (1-based, across resumes) and mean loss.
  std::function<void(std::int64_t step, double loss)> on_step;

 private:
  MixedPrecisionTrainerOptions options_;
  std::unique_ptr<nn::LlamaForCausalLM> model_;
  data::Tokenizer tokenizer_;
  PrecisionChoice precision_;
};

}  // namespace sieve::train
