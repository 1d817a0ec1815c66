#include "sieve/multimodal/staged_training.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/safetensors.h"
#include "sieve/io/trimodal_config.h"
#include "sieve/io/trimodal_model_dir.h"
#include "sieve/train/precision_choice.h"

namespace sieve::multimodal {

namespace fs = std::filesystem;

namespace {

std::int64_t parse_integer(std::string_view text, std::string_view flag) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  SIEVE_USER_CHECK(error == std::errc() && end == text.data() + text.size(), "{}: '{}' is not an integer", flag, text);
  return value;
}

fs::path stage_dir(const fs::path& run_dir, Stage stage) {
  return run_dir / ("stage-" + std::to_string(static_cast<int>(stage)) + "-" + std::string(stage_name(stage)));
}

// The trunk's matrix products as a LLaMA config of the same shapes: what `auto` times.
nn::LlamaConfig trunk_shapes(const nn::TriModalConfig& c) {
  nn::LlamaConfig shapes;
  shapes.vocab_size = c.vocab_size;
  shapes.hidden_size = c.hidden_size;
  shapes.intermediate_size = c.intermediate_size;
  shapes.num_hidden_layers = c.num_layers;
  shapes.num_attention_heads = c.num_heads;
  shapes.num_key_value_heads = c.num_heads;
  return shapes;
}

// Copies every non-fusion parameter from `file` into `model` (names and shapes must match).
void load_all_but_fusion(nn::TriModalModel& model, const fs::path& file) {
  const std::map<std::string, core::Tensor> weights = io::load_safetensors(file);
  for (auto& [name, parameter] : model.named_parameters()) {
    if (name.rfind("fusion.", 0) == 0) continue;
    const auto it = weights.find(name);
    SIEVE_USER_CHECK(it != weights.end(), "{}: no tensor '{}' (not weights of this model)", file.string(), name);
    SIEVE_USER_CHECK(it->second.dtype() == core::DType::f32 && it->second.shape() == parameter.shape(),
                     "{}: '{}' is {} {}, the model's is f32 {}", file.string(), name, core::dtype_name(it->second.dtype()),
                     core::shape_string(it->second.shape()), core::shape_string(parameter.shape()));
    const core::Tensor source = it->second.contiguous();
    std::memcpy(parameter.data<float>(), source.data<float>(), static_cast<std::size_t>(parameter.numel()) * sizeof(float));
  }
}

}  // namespace

std::vector<Stage> parse_stages(std::string_view list, std::string_view flag) {
  std::vector<Stage> stages;
  for (const std::string_view item : split_list(list)) {
    const std::int64_t n = parse_integer(item, flag);
    SIEVE_USER_CHECK(n >= 1 && n <= 3, "{}: stage {} does not exist (1 unimodal, 2 alignment, 3 fusion)", flag, n);
    SIEVE_USER_CHECK(stages.empty() || static_cast<std::int64_t>(stages.back()) < n,
                     "{}: stages run in increasing order, each once ('{}')", flag, list);
    stages.push_back(static_cast<Stage>(n));
  }
  return stages;
}

std::vector<std::int64_t> parse_stage_steps(std::string_view list, std::size_t stages, std::string_view flag) {
  std::vector<std::int64_t> steps;
  for (const std::string_view item : split_list(list)) {
    steps.push_back(parse_integer(item, flag));
    SIEVE_USER_CHECK(steps.back() >= 1, "{}: steps must be >= 1, got {}", flag, steps.back());
  }
  SIEVE_USER_CHECK(steps.size() == 1 || steps.size() == stages,
                   "{}: give one step count for every stage or one per stage ({} stages, {} counts)", flag, stages,
                   steps.size());
  return steps;
}

StagedTrainingResult train_staged(const StagedTrainingOptions& options, const std::atomic<bool>* stop) {
  SIEVE_USER_CHECK(!options.stages.empty(), "no stages to run");
  SIEVE_USER_CHECK(options.steps.size() == 1 || options.steps.size() == options.stages.size(),
                   "give one step count for every stage or one per stage");
  train::check_precision_mode(options.precision_mode);
  const fs::path& run = options.run_dir;
  SIEVE_USER_CHECK(options.resume || !fs::exists(run) || fs::is_empty(run),
                   "{} exists and is not empty: give --resume to continue its run, or another --out", run.string());
  const tf::Dataset dataset = tf::load(options.data_dir);

  nn::TriModalConfig config = options.config;
  const fs::path config_file = run / io::kConfigFile;
  if (options.resume && fs::exists(config_file)) {
    config = io::load_trimodal_config(config_file);  // the run's model, whatever the flags say
  } else {
    config.vocab_size = data::Tokenizer::load(dataset.tokenizer_model).vocab_size();
  }
  fs::create_directories(run);
  io::save_trimodal_config(config_file, config);
  fs::copy_file(dataset.tokenizer_model, run / io::kTokenizerFile, fs::copy_options::overwrite_existing);

  nn::TriModalModel model(config, options.model_seed);
  if (!options.init_from.empty()) load_all_but_fusion(model, options.init_from);
  const TrifashionInputs inputs(dataset, config);

  const train::PrecisionChoice precision =
      train::choose_precision(options.precision_mode, trunk_shapes(config), options.stage.batch * 64);
  if (!options.quiet) std::fprintf(stderr, "%s\n", precision.report.c_str());
  StageOptions stage_options = options.stage;
  stage_options.precision = precision.policy;

  StagedTrainingResult result;
  for (std::size_t s = 0; s < options.stages.size(); ++s) {
    const Stage stage = options.stages[s];
    const fs::path dir = stage_dir(run, stage);
    const fs::path finished = dir / io::kWeightsFile;
    if (options.resume && fs::exists(finished)) {
      io::load_parameters(model, finished);
      std::printf("stage %d (%s): finished in an earlier run; its weights loaded\n", static_cast<int>(stage),
                  std::string(stage_name(stage)).c_str());
      continue;
    }
    const std::int64_t steps = options.steps.size() == 1 ? options.steps.front() : options.steps[s];
    train::TrainingLoopOptions loop = options.loop;
    loop.steps = steps;
    loop.schedule.total_steps = steps;
    loop.schedule.warmup_steps = std::llround(options.warmup_fraction * static_cast<double>(steps));
    loop.run_dir = dir;
    loop.resume = options.resume;
    loop.precision = precision.policy;
    loop.loss_scaling = loop.loss_scaling || precision.loss_scaling;
    std::printf("stage %d (%s): %lld steps\n", static_cast<int>(stage), std::string(stage_name(stage)).c_str(),
                static_cast<long long>(steps));
    std::fflush(stdout);
    StageTask task(stage, model, inputs, stage_options);
    train::TrainingLoop trainer(task, loop,
                                {{"task", "trifashion"},
                                 {"stage", static_cast<int>(stage)},
                                 {"stage_name", std::string(stage_name(stage))},
                                 {"batch", stage_options.batch},
                                 {"fusion", std::string(nn::fusion_mode_name(config.fusion))},
                                 {"question_inputs", stage_options.questions.describe()}});
    const train::TrainResult stage_result = trainer.run(stop);
    result.stages.emplace_back(stage, stage_result);
    if (stage_result.interrupted) {
      result.interrupted = true;
      return result;  // its checkpoint is what --resume continues from
    }
    io::save_parameters(model, finished);  // atomic: present means the stage finished
  }

  io::save_trimodal_model(model, run);
  EvaluationOptions eval{.batch = 128, .limit = 0, .questions = stage_options.questions};
  result.scores = evaluate_trifashion(model, inputs, eval);
  nlohmann::json stages = nlohmann::json::array();
  for (const Stage stage : options.stages) stages.push_back(static_cast<int>(stage));
  const nlohmann::json record = {{"data", fs::absolute(options.data_dir).string()},
                                 {"stages", stages},
                                 {"steps", options.steps},
                                 {"batch", stage_options.batch},
                                 {"rehearsal", stage_options.rehearsal},
                                 {"paired_scenes", stage_options.paired_scenes},
                                 {"question_inputs", stage_options.questions.modality_list()},
                                 {"corrupt", stage_options.questions.corruption_name()},
                                 {"fusion", std::string(nn::fusion_mode_name(config.fusion))},
                                 {"seed", stage_options.seed},
                                 {"model_seed", options.model_seed},
                                 {"init_from", options.init_from.string()},
                                 {"precision", options.precision_mode},
                                 {"scores", result.scores}};
  core::write_file_atomically(run / kRunRecordFile, record.dump(2) + "\n");
  return result;
}

}  // namespace sieve::multimodal
