// What a training loop trains: the parameters it optimises and checkpoints, where each step's
// micro-batches come from and how one is scored, and how validation measures the model.
// TrainingLoop (training_loop.h) drives any task through the same gradient accumulation, loss
// scaling, schedule, clipping, checkpoints, resume and metrics stream; the language-model task
// (language_model_task.h) is one, the multimodal stages are others.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sieve/nn/module.h"
#include "sieve/train/train_step.h"

namespace sieve::train {

// One validation pass: the loss the loop reports, and further measurements (perplexity,
// accuracy, ...) with the key the metrics stream gives them and the label the progress line does.
struct Evaluation {
  struct Metric {
    std::string key;    // "val_ppl"
    std::string label;  // "perplexity"
    double value = 0.0;
    int decimals = 4;   // in the progress line
  };
  double loss = 0.0;
  std::vector<Metric> metrics;
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;

  // Every trained parameter under the name its checkpoints store it by (all of them go to the
  // optimizer; order fixed for the run).
  virtual nn::NamedTensors trained_parameters() const = 0;
  // Training mode (dropout) of every trained module.
  virtual void set_training(bool training) = 0;

  // What a micro-batch's items are, for throughput: the progress line's abbreviation ("tok") and
  // the metrics stream's key ("tokens_per_s").
  struct ItemUnit {
    std::string abbreviation;
    std::string metric_key;
  };
  virtual ItemUnit item_unit() const = 0;
  // Items per optimizer step of `micro_batches` micro-batches (tokens for a language model).
  virtual std::int64_t items_per_step(std::int64_t micro_batches) const = 0;

  // Starts step `step` (steps run so far, skipped ones included): draws the data of its
  // `micro_batches` micro-batches and sets whatever depends on the step.
  virtual void begin_step(std::int64_t step, std::int64_t micro_batches) = 0;
  // The loss of micro-batch `index` of the current step, a one-element tensor whose graph reaches
  // the trained parameters; may add named parts to `terms`.
  virtual core::Tensor micro_batch_loss(std::size_t index, LossTerms& terms) = 0;
  // After the step's update: adjusts what the step reports (its loss, its terms).
  virtual void end_step(StepResult& result) { (void)result; }
  // The run has ended or stopped: undo what depended on the step.
  virtual void end_run() {}
  // The progress line's label of a term of StepResult::terms (default: its name).
  virtual std::string term_label(const std::string& name) const { return name; }

  // Validation, in inference mode (grad off), with the trained precision.
  virtual Evaluation evaluate() = 0;

  // The data position, for checkpoints: restored, the run draws exactly the micro-batches it
  // would have drawn. Stored in state.json under data_state_key().
  virtual std::string data_state_key() const = 0;
  virtual nlohmann::json data_state() const = 0;
  // Throws nlohmann::json::exception or core::UserError for a state it cannot restore.
  virtual void restore_data_state(const nlohmann::json& state) = 0;
};

}  // namespace sieve::train
