// The three training stages on the tiny trifashion set: what each stage trains, that its steps
// move exactly those parameters, that a stopped stage resumes bit-identically, and the staged run
// end to end (model directory, run record, resume of finished stages, warm start).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>

#include "multimodal_test_data.h"
#include "sieve/core/error.h"
#include "sieve/io/safetensors.h"
#include "sieve/io/trimodal_model_dir.h"
#include "sieve/multimodal/stage_task.h"
#include "sieve/multimodal/staged_training.h"
#include "temp_dir.h"

namespace sieve::multimodal {
namespace {

using testing::small_trifashion_config;
using testing::TempDir;
using testing::tiny_trifashion_dataset;

std::map<std::string, std::vector<float>> snapshot(const nn::Module& model) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, tensor] : model.named_parameters()) {
    const core::Tensor t = tensor.contiguous();
    out[name].assign(t.data<float>(), t.data<float>() + t.numel());
  }
  return out;
}

train::TrainingLoopOptions loop_options(std::int64_t steps) {
  train::TrainingLoopOptions o;
  o.steps = steps;
  o.schedule.total_steps = steps;
  o.schedule.warmup_steps = 1;
  o.schedule.peak_lr = 1e-3f;
  o.log_interval = 0;
  return o;
}

StageOptions stage_options() {
  StageOptions o;
  o.batch = 4;
  o.eval_limit = 8;
  return o;
}

TEST(StageTask, EachStageTrainsItsOwnPartsAndTheEarlierOnes) {
  EXPECT_TRUE(stage_trains(Stage::kUnimodal, "trunk.layers.0.attn.q_proj.weight"));
  EXPECT_TRUE(stage_trains(Stage::kUnimodal, "class_head.weight"));
  EXPECT_TRUE(stage_trains(Stage::kUnimodal, "audio_stem.conv0.weight"));
  EXPECT_FALSE(stage_trains(Stage::kUnimodal, "image_projection.weight"));
  EXPECT_FALSE(stage_trains(Stage::kUnimodal, "log_temperature"));
  EXPECT_FALSE(stage_trains(Stage::kUnimodal, "fusion.layers.0.alpha_logits"));
  EXPECT_TRUE(stage_trains(Stage::kAlignment, "text_projection.weight"));
  EXPECT_TRUE(stage_trains(Stage::kAlignment, "log_temperature"));
  EXPECT_FALSE(stage_trains(Stage::kAlignment, "answer_head.weight"));
  EXPECT_FALSE(stage_trains(Stage::kAlignment, "fusion.norm.weight"));
  EXPECT_TRUE(stage_trains(Stage::kFusion, "fusion.layers.0.alpha_logits"));
  EXPECT_TRUE(stage_trains(Stage::kFusion, "match_head.weight"));
}

TEST(StageTask, AStepMovesExactlyTheParametersTheStageTrains) {
  SKIP_WITHOUT_TRIFASHION_SOURCES();
  const TrifashionInputs inputs(tiny_trifashion_dataset(), small_trifashion_config());
  for (const Stage stage : {Stage::kUnimodal, Stage::kAlignment, Stage::kFusion}) {
    SCOPED_TRACE(std::string(stage_name(stage)));
    nn::TriModalModel model(small_trifashion_config(), 3);
    const auto before = snapshot(model);
    StageTask task(stage, model, inputs, stage_options());
    train::TrainingLoop loop(task, loop_options(2));
    double loss = 0.0;
    for (int i = 0; i < 2; ++i) loss = loop.step().loss;
    EXPECT_TRUE(std::isfinite(loss));
    const auto after = snapshot(model);
    for (const auto& [name, values] : before) {
      // A weight decays only as a matrix; every trained tensor has a gradient, so it moves.
      if (stage_trains(stage, name))
        EXPECT_NE(values, after.at(name)) << name;
      else
        EXPECT_EQ(values, after.at(name)) << name;
    }
  }
}

TEST(StageTask, AStoppedStageResumesBitIdentically) {
  SKIP_WITHOUT_TRIFASHION_SOURCES();
  const TrifashionInputs inputs(tiny_trifashion_dataset(), small_trifashion_config());
  std::vector<double> straight;
  {
    nn::TriModalModel model(small_trifashion_config(), 5);
    StageTask task(Stage::kFusion, model, inputs, stage_options());
    train::TrainingLoop loop(task, loop_options(4));
    for (int i = 0; i < 4; ++i) straight.push_back(loop.step().loss);
  }
  TempDir dir;
  train::TrainingLoopOptions options = loop_options(4);
  options.run_dir = dir.path();
  options.checkpoint_interval = 2;
  {
    nn::TriModalModel model(small_trifashion_config(), 5);
    StageTask task(Stage::kFusion, model, inputs, stage_options());
    std::atomic<bool> stop{false};
    train::TrainingLoop loop(task, options);
    loop.on_step = [&](std::int64_t step, const train::StepResult& result) {
      EXPECT_EQ(result.loss, straight[static_cast<std::size_t>(step - 1)]);
      if (step == 2) stop = true;
    };
    EXPECT_TRUE(loop.run(&stop).interrupted);
  }
  nn::TriModalModel model(small_trifashion_config(), 99);  // other init: the checkpoint must win
  StageTask task(Stage::kFusion, model, inputs, stage_options());
  options.resume = true;
  train::TrainingLoop loop(task, options);
  std::vector<double> resumed;
  loop.on_step = [&](std::int64_t, const train::StepResult& result) { resumed.push_back(result.loss); };
  loop.run();
  ASSERT_EQ(resumed.size(), 2u);
  EXPECT_EQ(resumed[0], straight[2]);
  EXPECT_EQ(resumed[1], straight[3]);
}

StagedTrainingOptions staged_options(const std::filesystem::path& run) {
  StagedTrainingOptions o;
  o.data_dir = testing::shared_tiny_trifashion([](const auto&) { FAIL() << "built by tiny_trifashion_dataset"; });
  o.run_dir = run;
  o.steps = {2};
  o.config = small_trifashion_config();
  o.stage = stage_options();
  o.loop = loop_options(2);
  o.quiet = true;
  return o;
}

TEST(StagedTraining, RunsTheStagesIntoAModelDirectoryAndResumesFinishedOnes) {
  SKIP_WITHOUT_TRIFASHION_SOURCES();
  tiny_trifashion_dataset();
  TempDir dir;
  const StagedTrainingOptions options = staged_options(dir / "run");
  const StagedTrainingResult result = train_staged(options);
  ASSERT_EQ(result.stages.size(), 3u);
  for (const char* key : {"fashion_accuracy", "retrieval_r1", "matching_f1", "spoken_word_accuracy", "vqa_accuracy"}) {
    ASSERT_TRUE(result.scores.contains(key)) << key;
    EXPECT_GE(result.scores[key].get<double>(), 0.0);
    EXPECT_LE(result.scores[key].get<double>(), 1.0);
  }
  EXPECT_EQ(result.scores["alphas"].size(), 1u);  // one fusion layer
  for (const char* stage : {"stage-1-unimodal", "stage-2-alignment", "stage-3-fusion"})
    EXPECT_TRUE(std::filesystem::exists(dir / "run" / stage / "model.safetensors")) << stage;
  const auto model = io::load_trimodal_model(dir / "run");
  EXPECT_EQ(model->config().hidden_size, 32);
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / kRunRecordFile));

  // Not over a finished run without resume; with it, nothing is trained again.
  EXPECT_THROW(train_staged(options), core::UserError);
  StagedTrainingOptions again = options;
  again.resume = true;
  const StagedTrainingResult resumed = train_staged(again);
  EXPECT_TRUE(resumed.stages.empty());
  EXPECT_EQ(resumed.scores, result.scores);
}

TEST(StagedTraining, WarmStartsEverythingButTheFusionLayers) {
  SKIP_WITHOUT_TRIFASHION_SOURCES();
  tiny_trifashion_dataset();
  TempDir dir;
  StagedTrainingOptions first = staged_options(dir / "a");
  first.stages = {Stage::kUnimodal};
  train_staged(first);
  const auto weights = io::load_safetensors(dir / "a" / "stage-1-unimodal" / "model.safetensors");

  StagedTrainingOptions second = staged_options(dir / "b");
  second.stages = {Stage::kFusion};
  second.config.fusion = nn::FusionMode::kConcat;
  second.init_from = dir / "a" / "stage-1-unimodal" / "model.safetensors";
  second.loop.schedule.peak_lr = 0.0f;  // nothing moves: the start is what is compared
  second.loop.schedule.min_lr = 0.0f;
  second.loop.adamw.weight_decay = 0.0f;
  train_staged(second);
  const auto model = io::load_trimodal_model(dir / "b");
  for (const auto& [name, tensor] : model->named_parameters()) {
    if (name.rfind("fusion.", 0) == 0) continue;
    const core::Tensor a = weights.at(name).contiguous(), b = tensor.contiguous();
    ASSERT_EQ(std::vector<float>(a.data<float>(), a.data<float>() + a.numel()),
              std::vector<float>(b.data<float>(), b.data<float>() + b.numel()))
        << name;
  }
  StagedTrainingOptions wrong = staged_options(dir / "c");
  wrong.config.hidden_size = 64;
  wrong.config.embed_dim = 64;
  wrong.init_from = second.init_from;
  EXPECT_THROW(train_staged(wrong), core::UserError);
}

TEST(StagedTraining, ParsesStagesAndSteps) {
  EXPECT_EQ(parse_stages("1,2,3", "--stages").size(), 3u);
  EXPECT_EQ(parse_stages("3", "--stages"), std::vector<Stage>{Stage::kFusion});
  EXPECT_THROW(parse_stages("2,1", "--stages"), core::UserError);
  EXPECT_THROW(parse_stages("1,1", "--stages"), core::UserError);
  EXPECT_THROW(parse_stages("4", "--stages"), core::UserError);
  EXPECT_THROW(parse_stages("one", "--stages"), core::UserError);
  EXPECT_EQ(parse_stage_steps("20", 3, "--steps-per-stage"), std::vector<std::int64_t>{20});
  EXPECT_EQ(parse_stage_steps("3,2,1", 3, "--steps-per-stage"), (std::vector<std::int64_t>{3, 2, 1}));
  EXPECT_THROW(parse_stage_steps("3,2", 3, "--steps-per-stage"), core::UserError);
  EXPECT_THROW(parse_stage_steps("0", 1, "--steps-per-stage"), core::UserError);
  EXPECT_THROW(parse_stage_steps("-5", 1, "--steps-per-stage"), core::UserError);
}

}  // namespace
}  // namespace sieve::multimodal
