#include "apps/sieve/trifashion_train.h"

#include <atomic>
#include <csignal>
#include <cstdio>

#include "sieve/core/error.h"
#include "sieve/multimodal/staged_training.h"

namespace sieve::apps {

namespace {

std::atomic<bool> g_trifashion_stop{false};
extern "C" void on_trifashion_interrupt(int) { g_trifashion_stop.store(true); }

constexpr std::int64_t kDefaultBatch = 32;

}  // namespace

void add_trifashion_train_flags(CLI::App* cmd, TrifashionTrainFlags& f) {
  const auto add = [&](CLI::Option* option) { f.options.push_back(option->capture_default_str()); };
  add(cmd->add_option("--stages", f.stages,
                      "trifashion: the stages to run, in order: 1 unimodal, 2 alignment, 3 fusion (\"3\" alone: "
                      "single-stage joint training)"));
  add(cmd->add_option("--steps-per-stage", f.steps_per_stage,
                      "trifashion: optimizer steps of each stage: one count for all, or one per stage (\"300,200,400\")"));
  add(cmd->add_option("--fusion", f.fusion, "trifashion: fusion of the modalities: cmaf, fixed (equal weights) or concat"));
  add(cmd->add_option("--question-inputs", f.question_inputs,
                      "trifashion: what a question gives the model: a list of image, text, audio"));
  add(cmd->add_option("--corrupt", f.corrupt,
                      "trifashion: replace one question input by another example's (none, image, text, audio)"));
  add(cmd->add_option("--rehearsal", f.rehearsal,
                      "trifashion: share of the batch each later stage gives to the earlier stages' objectives"));
  add(cmd->add_option("--paired-scenes", f.paired_scenes,
                      "trifashion: use captions, pairs and questions of only the first N training scenes (0: all)"));
  add(cmd->add_option("--eval-limit", f.eval_limit, "trifashion: examples per validation measurement (0: all)"));
  add(cmd->add_option("--hidden-size", f.hidden_size, "trifashion: width of the shared trunk"));
  add(cmd->add_option("--layers", f.layers, "trifashion: blocks of the shared trunk"));
  add(cmd->add_option("--fusion-layers", f.fusion_layers, "trifashion: fusion layers above the trunk"));
  add(cmd->add_option("--init-from", f.init_from,
                      "trifashion: start from an earlier run's weights (RUN/stage-K-NAME/model.safetensors), all but "
                      "the fusion layers; the model flags must describe the same trunk"));
}

void run_trifashion_train(const TrifashionTrainFlags& f, const SharedTrainFlags& shared) {
  const train::MixedPrecisionTrainerOptions& o = *shared.options;
  SIEVE_USER_CHECK(!shared.data_dir.empty(), "--task trifashion needs --data DIR (built by `sieve data build trifashion`)");
  SIEVE_USER_CHECK(!shared.out_dir.empty(), "--task trifashion needs --out DIR (the run and model directory)");
  multimodal::StagedTrainingOptions options;
  options.data_dir = shared.data_dir;
  options.run_dir = shared.out_dir;
  options.stages = multimodal::parse_stages(f.stages, "--stages");
  options.steps = multimodal::parse_stage_steps(f.steps_per_stage, options.stages.size(), "--steps-per-stage");
  SIEVE_USER_CHECK(nn::parse_fusion_mode(f.fusion, options.config.fusion),
                   "--fusion must be cmaf, fixed or concat, got '{}'", f.fusion);
  SIEVE_USER_CHECK(f.hidden_size >= 8 && f.hidden_size <= 4096 && f.hidden_size % options.config.num_heads == 0,
                   "--hidden-size must be a multiple of {} in [8, 4096], got {}", options.config.num_heads, f.hidden_size);
  SIEVE_USER_CHECK(f.layers >= 1 && f.layers <= 64, "--layers must be in [1, 64], got {}", f.layers);
  SIEVE_USER_CHECK(f.fusion_layers >= 1 && f.fusion_layers <= 16, "--fusion-layers must be in [1, 16], got {}",
                   f.fusion_layers);
  SIEVE_USER_CHECK(f.eval_limit >= 0, "--eval-limit must be >= 0 (0: all), got {}", f.eval_limit);
  options.config.hidden_size = f.hidden_size;
  options.config.intermediate_size = 3 * f.hidden_size;
  options.config.embed_dim = f.hidden_size;
  options.config.num_layers = f.layers;
  options.config.fusion_layers = f.fusion_layers;
  options.model_seed = shared.model_seed;
  options.init_from = f.init_from;
  options.stage.batch = shared.batch_given ? o.batch : kDefaultBatch;
  options.stage.rehearsal = f.rehearsal;
  options.stage.paired_scenes = f.paired_scenes;
  options.stage.seed = o.seed;
  options.stage.eval_limit = f.eval_limit;
  options.stage.questions = multimodal::parse_question_inputs(f.question_inputs, "--question-inputs");
  multimodal::parse_corruption(f.corrupt, options.stage.questions, "--corrupt");
  options.precision_mode = o.precision_mode;
  options.resume = o.resume;
  train::TrainingLoopOptions& loop = options.loop;
  loop.gradient_accumulation_steps = o.gradient_accumulation_steps;
  loop.schedule.peak_lr = o.learning_rate;
  loop.schedule.min_lr = o.min_learning_rate;
  loop.adamw = o.adamw;
  loop.clip_grad_norm = o.clip_grad_norm;
  loop.eval_interval = o.eval_interval;
  loop.log_interval = o.log_interval;
  loop.checkpoint_interval = o.checkpoint_interval;
  loop.keep_checkpoints = o.keep_checkpoints;
  loop.max_seconds = shared.max_minutes * 60.0;
  loop.loss_scaling = shared.loss_scaling;
  loop.loss_scale_window = o.loss_scale_window;

  std::signal(SIGINT, on_trifashion_interrupt);
  std::signal(SIGTERM, on_trifashion_interrupt);
  const multimodal::StagedTrainingResult result = multimodal::train_staged(options, &g_trifashion_stop);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (result.interrupted) {
    std::printf("stopped; continue with the same command and --resume (%s)\n", shared.out_dir.c_str());
    return;
  }
  std::printf("model saved to %s\ntest: %s\n", shared.out_dir.c_str(), result.scores.dump().c_str());
}

}  // namespace sieve::apps
