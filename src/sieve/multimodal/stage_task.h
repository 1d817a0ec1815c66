// The three training stages of the trimodal model as train::TrainingTasks (docs/multimodal.md):
//   1 unimodal   Fashion-MNIST item classification, spoken-word classification (training
//                voices), causal text LM on the captions and questions;
//   2 alignment  InfoNCE with a learned temperature between scenes and their captions, and
//                between spoken captions and their text;
//   3 fusion     caption-scene matching (BCE) and question answering (CE) through CMAF.
// Each later stage rehearses the earlier stages' losses on a share of its batch, so what they
// taught is kept; stage 3 on its own is therefore joint training of every objective (the
// single-stage baseline). Paired data (captions, pairs, questions) can be limited to the first
// N training scenes, to measure the stages with few paired examples.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sieve/core/rng.h"
#include "sieve/multimodal/evaluation.h"
#include "sieve/ops/precision.h"
#include "sieve/train/training_task.h"

namespace sieve::multimodal {

enum class Stage { kUnimodal = 1, kAlignment = 2, kFusion = 3 };
std::string_view stage_name(Stage stage);  // "unimodal", "alignment", "fusion"

struct StageOptions {
  std::int64_t batch = 32;           // examples of each objective per micro-batch
  double rehearsal = 0.25;           // share of `batch` given to each earlier stage's objectives
  std::int64_t paired_scenes = 0;    // use paired records of the first N training scenes (0: all)
  std::uint64_t seed = 1;
  QuestionInputs questions;
  std::int64_t eval_limit = 512;     // examples per validation measurement (0: all)
  ops::PrecisionPolicy precision;
};

// Whether stage `stage` trains parameter `name`: not the heads and fusion layers of later stages.
bool stage_trains(Stage stage, const std::string& name);

class StageTask : public train::TrainingTask {
 public:
  // Throws core::UserError for bad options or a data set without what the stage needs.
  StageTask(Stage stage, nn::TriModalModel& model, const TrifashionInputs& inputs, StageOptions options);

  nn::NamedTensors trained_parameters() const override;
  void set_training(bool training) override { model_.set_training(training); }
  ItemUnit item_unit() const override { return {"ex", "examples_per_s"}; }
  std::int64_t items_per_step(std::int64_t micro_batches) const override;
  void begin_step(std::int64_t step, std::int64_t micro_batches) override;
  core::Tensor micro_batch_loss(std::size_t index, train::LossTerms& terms) override;
  std::string term_label(const std::string& name) const override;
  train::Evaluation evaluate() override;
  std::string data_state_key() const override { return "trifashion_loader"; }
  nlohmann::json data_state() const override;
  void restore_data_state(const nlohmann::json& state) override;

 private:
  // Indices drawn for one micro-batch, per objective.
  struct Draw {
    std::vector<std::int64_t> items, words, lm_captions, lm_questions, captions, pairs, questions;
  };
  std::vector<std::int64_t> draw(const std::vector<std::int64_t>& pool, std::int64_t count);
  std::int64_t share(Stage objective_stage) const;

  core::Tensor unimodal_loss(const Draw& d, train::LossTerms& terms) const;
  core::Tensor alignment_loss(const Draw& d, train::LossTerms& terms) const;
  core::Tensor fusion_loss(const Draw& d, train::LossTerms& terms) const;

  Stage stage_;
  nn::TriModalModel& model_;
  const TrifashionInputs& inputs_;
  StageOptions options_;
  core::Rng rng_;
  // Training-split index pools.
  std::vector<std::int64_t> item_pool_, word_pool_, caption_pool_, question_pool_, pair_pool_;
  std::vector<Draw> micro_batches_;
};

}  // namespace sieve::multimodal
