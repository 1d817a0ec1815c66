// `sieve distill`: knowledge distillation — train a student model (a model directory, or a new
// one from a preset or config sharing the teacher's tokenizer) toward a teacher's next-token
// distributions, through compress::DistillTrainer (the ordinary trainer with a distillation
// loss). The teacher may be a plain or a quantized model directory. The output is a model
// directory with the teacher's tokenizer, plus the run's checkpoints and metrics.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "apps/sieve/inference_model.h"
#include "apps/sieve/run_command.h"
#include "apps/sieve/training_run_flags.h"
#include "apps/sieve/verbs.h"
#include "sieve/compress/distill/distill_trainer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"
#include "sieve/train/precision_choice.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

struct DistillArgs {
  std::string teacher_dir;
  std::string student_dir;
  std::string student_preset;
  std::string student_config;
  std::uint64_t model_seed = 0;
  std::string out_dir;
  compress::DistillOptions distill;
  TrainingRunFlags run;
};

std::atomic<bool> g_stop{false};

extern "C" void on_distill_interrupt(int) { g_stop.store(true); }

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  SIEVE_USER_CHECK(in.good(), "cannot read {}", path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The teacher directory must be a model: its config and tokenizer are checked for before its
// weights are read, so a wrong path says so instead of naming a file deep inside.
void check_teacher_dir(const fs::path& dir) {
  SIEVE_USER_CHECK(fs::is_directory(dir), "--teacher '{}' is not a directory", dir.string());
  for (const char* file : {io::kConfigFile, io::kTokenizerFile})
    SIEVE_USER_CHECK(fs::is_regular_file(dir / file),
                     "--teacher '{}' is not a model directory: it has no {} (expected config.json, "
                     "model.safetensors and tokenizer.model, as `sieve train` writes)",
                     dir.string(), file);
}

// A new student from --student-preset / --student-config, on the teacher's vocabulary.
std::unique_ptr<nn::LlamaForCausalLM> new_student(const DistillArgs& args, const nn::LlamaConfig& teacher) {
  nn::LlamaConfig config = args.student_config.empty() ? nn::preset_config(args.student_preset)
                                                       : io::load_llama_config(args.student_config);
  config.vocab_size = teacher.vocab_size;
  config.bos_token_id = teacher.bos_token_id;
  config.eos_token_id = teacher.eos_token_id;
  return std::make_unique<nn::LlamaForCausalLM>(config, args.model_seed);
}

// A student directory must carry the teacher's tokenizer, byte for byte.
std::unique_ptr<nn::LlamaForCausalLM> load_student(const fs::path& dir, const fs::path& teacher_dir) {
  SIEVE_USER_CHECK(fs::is_regular_file(dir / io::kTokenizerFile), "--student '{}' has no {}", dir.string(),
                   io::kTokenizerFile);
  SIEVE_USER_CHECK(file_bytes(dir / io::kTokenizerFile) == file_bytes(teacher_dir / io::kTokenizerFile),
                   "--student '{}' uses another tokenizer than --teacher '{}' ({} differs): distillation compares "
                   "their next-token distributions token by token, so both must share one tokenizer",
                   dir.string(), teacher_dir.string(), io::kTokenizerFile);
  return io::load_model(dir);
}

void run_distill(const DistillArgs& args) {
  const fs::path teacher_dir(args.teacher_dir), out_dir(args.out_dir);
  train::check_precision_mode(args.run.precision);
  compress::check_distill_options(args.distill);
  SIEVE_USER_CHECK(!args.student_dir.empty() + !args.student_preset.empty() + !args.student_config.empty() == 1,
                   "give one student: --student DIR, --student-preset NAME or --student-config FILE");
  check_teacher_dir(teacher_dir);
  std::unique_ptr<nn::LlamaForCausalLM> teacher = load_model_dir(teacher_dir);
  teacher->set_training(false);
  std::unique_ptr<nn::LlamaForCausalLM> student = args.student_dir.empty()
                                                      ? new_student(args, teacher->config())
                                                      : load_student(args.student_dir, teacher_dir);
  compress::check_same_vocabulary(teacher->config(), student->config());
  std::fprintf(stderr, "teacher %s: %.2fM parameters; student: %.2fM parameters\n", teacher_dir.c_str(),
               static_cast<double>(teacher->parameter_count()) / 1e6,
               static_cast<double>(student->parameter_count()) / 1e6);

  const train::TrainerOptions trainer_options = settle_training_run(args.run, *student, out_dir);
  const data::Tokenizer tokenizer = data::Tokenizer::load(teacher_dir / io::kTokenizerFile);
  fs::create_directories(out_dir);
  const data::PrepareResult dataset = prepare_training_data(args.run, tokenizer, out_dir);
  compress::DistillTrainer trainer(*teacher, *student, data::TokenShard::open(dataset.train_path),
                                   data::TokenShard::open(dataset.val_path), trainer_options, args.distill);
  write_command_file(out_dir, "distill");
  std::signal(SIGINT, on_distill_interrupt);
  std::signal(SIGTERM, on_distill_interrupt);
  const auto start = std::chrono::steady_clock::now();
  const train::TrainResult result = trainer.run(&g_stop);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::printf("validation perplexity: %.2f before, %.2f after %lld steps (%.0f tokens/s)\n",
              std::exp(result.initial_val_loss), std::exp(result.final_val_loss),
              static_cast<long long>(result.steps_done), result.tokens_per_second);
  if (args.distill.alpha > 0.0f)
    std::printf("teacher forward: %.1f s of %.1f s (%.0f%%)\n", trainer.teacher_seconds(), seconds,
                100.0 * trainer.teacher_seconds() / std::max(seconds, 1e-9));
  io::save_model(*student, out_dir);
  fs::copy_file(teacher_dir / io::kTokenizerFile, out_dir / io::kTokenizerFile, fs::copy_options::overwrite_existing);
  std::printf("student saved to %s (config.json, model.safetensors, tokenizer.model)\n", out_dir.c_str());
}

}  // namespace

void add_distill_verb(CLI::App& app) {
  auto args = std::make_shared<DistillArgs>();
  args->run.trainer.context = 0;
  args->run.trainer.steps = 1000;
  args->run.warmup = 50;
  CLI::App* cmd = app.add_subcommand(
      "distill", "Knowledge distillation: train a smaller student toward a teacher model's next-token distributions");
  cmd->add_option("--teacher", args->teacher_dir, "Teacher model directory (plain or quantized); never written to")
      ->required();
  CLI::Option* student = cmd->add_option(
      "--student", args->student_dir, "Student model directory to start from (must share the teacher's tokenizer)");
  CLI::Option* preset =
      cmd->add_option("--student-preset", args->student_preset, "New student of this size: tiny, demo, lm-17m");
  CLI::Option* config = cmd->add_option("--student-config", args->student_config,
                                        "New student from a config.json (its vocabulary replaced by the teacher's)");
  student->excludes(preset)->excludes(config);
  preset->excludes(config);
  cmd->add_option("--model-seed", args->model_seed, "New student: weight initialisation seed")->capture_default_str();
  cmd->add_option("--out", args->out_dir,
                  "Run directory (created): the student model, its tokenizer, checkpoints, metrics.jsonl")
      ->required();
  cmd->add_option("--alpha", args->distill.alpha,
                  "Weight of the teacher term, KL(teacher || student) at the temperature times T^2; 1 - alpha "
                  "weighs the cross-entropy on the data (0: plain training)")
      ->capture_default_str();
  cmd->add_option("--temperature", args->distill.temperature,
                  "Softmax temperature T of both distributions in the teacher term (> 0)")
      ->capture_default_str();
  cmd->add_option("--hidden-weight", args->distill.hidden_weight,
                  "Weight of hidden-state matching: the MSE between the student's last hidden state, through a "
                  "learned projection to the teacher's width, and the teacher's (0: off)")
      ->capture_default_str();
  add_training_run_flags(cmd, args->run);
  cmd->callback([args] { run_distill(*args); });
}

}  // namespace sieve::apps
