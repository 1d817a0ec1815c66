// `sieve train --task trifashion`: three-stage training of the trimodal model on a trifashion
// data set (multimodal/staged_training.h). The flags of its own are registered on the train
// verb; the optimizer, schedule, checkpoint and precision flags are the LM run's.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "sieve/train/mixed_precision_trainer.h"

namespace sieve::apps {

struct TrifashionTrainFlags {
  std::string stages = "1,2,3";
  std::string steps_per_stage = "300";
  std::string fusion = "cmaf";
  std::string question_inputs = "image,text,audio";
  std::string corrupt = "none";
  double rehearsal = 0.25;
  std::int64_t paired_scenes = 0;
  std::int64_t eval_limit = 512;
  std::int64_t hidden_size = 128;
  std::int64_t layers = 4;
  std::int64_t fusion_layers = 2;
  std::string init_from;
  std::vector<CLI::Option*> options;  // every flag above, to reject them without --task trifashion
};

void add_trifashion_train_flags(CLI::App* command, TrifashionTrainFlags& flags);

// The shared flags of the train verb a trifashion run reads.
struct SharedTrainFlags {
  std::string data_dir;
  std::string out_dir;
  const train::MixedPrecisionTrainerOptions* options = nullptr;
  bool batch_given = false;
  std::uint64_t model_seed = 0;
  double max_minutes = 0.0;
  bool loss_scaling = false;
};

void run_trifashion_train(const TrifashionTrainFlags& flags, const SharedTrainFlags& shared);

}  // namespace sieve::apps
