// Three-stage progressive training of the trimodal model on a trifashion data set, as one run:
// the stages in order (any subset: "3" alone is the single-stage baseline), each a TrainingLoop
// over its StageTask with its own steps, cosine schedule, checkpoints and metrics stream, all
// in one run directory:
//   RUN/config.json, RUN/tokenizer.model   written first (the model's config; the data set's tokenizer)
//   RUN/stage-K-NAME/                      checkpoints/, metrics.jsonl, and model.safetensors once the
//                                          stage has finished (its end weights)
//   RUN/model.safetensors                  the trained model, after the last stage
//   RUN/trifashion.json                    the run's settings and final test measurements
// RUN is then a model directory (io::load_trimodal_model). With `resume`, finished stages are
// skipped (their end weights loaded) and the stage in progress continues from its newest
// checkpoint, bit-identically.
#pragma once

#include <atomic>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "sieve/multimodal/stage_task.h"
#include "sieve/train/training_loop.h"

namespace sieve::multimodal {

struct StagedTrainingOptions {
  std::filesystem::path data_dir;
  std::filesystem::path run_dir;
  std::vector<Stage> stages = {Stage::kUnimodal, Stage::kAlignment, Stage::kFusion};
  std::vector<std::int64_t> steps = {300};  // per stage, or one value for every stage
  nn::TriModalConfig config;                // vocab_size is set from the data set's tokenizer
  std::uint64_t model_seed = 0;
  StageOptions stage;                       // stage.precision is set from precision_mode
  std::string precision_mode = "fp32";      // fp32, bf16, fp16, tf32 or auto
  train::TrainingLoopOptions loop;          // steps, schedule.total_steps, run_dir, resume: set per stage
  double warmup_fraction = 0.05;            // of each stage's steps
  bool resume = false;
  // Weights to start from (an earlier run's stage-K/model.safetensors): every parameter but the
  // fusion stack's, which stays at its initialisation — so fusion variants (cmaf, fixed, concat)
  // are compared from the same stage-2 model. Empty: the seed's initialisation.
  std::filesystem::path init_from;
  bool quiet = false;                       // no precision report
};

struct StagedTrainingResult {
  std::vector<std::pair<Stage, train::TrainResult>> stages;  // the stages this call ran
  nlohmann::json scores;                                     // final test measurements (empty if interrupted)
  bool interrupted = false;
};

// "1,2,3" → stages (in increasing order, no repeats); throws core::UserError naming `flag`.
std::vector<Stage> parse_stages(std::string_view list, std::string_view flag);
// "20" or "300,200,400" (one per stage) → steps; throws core::UserError naming `flag`.
std::vector<std::int64_t> parse_stage_steps(std::string_view list, std::size_t stages, std::string_view flag);

// The run record's file name in RUN (its question_inputs and corrupt are what `sieve eval`
// defaults to).
inline constexpr const char* kRunRecordFile = "trifashion.json";

StagedTrainingResult train_staged(const StagedTrainingOptions& options, const std::atomic<bool>* stop = nullptr);

}  // namespace sieve::multimodal
