// `sieve bench retrieval`: trains a fresh small model on a generated long-context retrieval task
// (data/retrieval_tasks.h: passkey, mqar) with the chosen attention, then measures answer
// accuracy on a held-out set — the quality test of sparse against dense and local attention
// (docs/sparse-attention.md). Progress goes to stderr; the result is one line (JSON with --json).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <nlohmann/json.hpp>

#include "apps/sieve/attention_flags.h"
#include "apps/sieve/verbs.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/parallel.h"
#include "sieve/data/retrieval_tasks.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/safetensors.h"
#include "sieve/ops/loss.h"
#include "sieve/ops/shape_ops.h"
#include "sieve/train/adamw.h"
#include "sieve/train/lr_schedule.h"
#include "sieve/train/precision_choice.h"
#include "sieve/train/train_step.h"
#include "sieve/train/trainer.h"

namespace sieve::apps {
namespace {

static_assert(data::kIgnoreTarget == ops::kIgnoreIndex, "retrieval targets must use the loss's ignore index");

using Clock = std::chrono::steady_clock;

struct RetrievalArgs {
  std::string task = "passkey";
  std::int64_t context = 1024;
  std::int64_t steps = 1000;
  std::int64_t batch = 8;
  double lr = 1e-3;
  std::int64_t warmup = -1;  // -1: 5% of the steps
  std::int64_t hidden = 128;
  std::int64_t layers = 2;
  std::int64_t heads = 4;
  std::int64_t eval_size = 10;      // passkey: rows per depth; mqar: rows × 10
  std::int64_t eval_interval = 0;   // 0: only at the end
  std::int64_t log_interval = 25;
  std::string precision = "fp32";
  std::int64_t scorer_warmup_steps = 0;  // sparse: distil the scorers for the first N steps
  float scorer_distill_weight = 1.0f;
  float scorer_distill_emphasis = 0.0f;  // sparse: weight each key's distillation term by 1 + α·y²
  std::int64_t dense_blend_steps = 0;  // sparse: anneal a dense-attention share from 1 to 0 over N steps
  std::uint64_t seed = 0;
  std::string out;        // save the trained model here (optional)
  std::string init_from;  // start from this saved model's matching weights (optional)
  int threads = 0;
  bool json = false;
  AttentionFlags attention;
};

struct Accuracy {
  double answers = 0.0;               // share of answer tokens predicted exactly
  double rows = 0.0;                  // share of rows with every answer token right
  std::map<double, double> by_depth;  // passkey: row accuracy per depth
};

// Greedy (argmax) prediction at every answer position, teacher-forced: a row whose answer tokens
// are all right is exactly a row that greedy decoding would answer right.
Accuracy evaluate(const nn::LlamaForCausalLM& model, const std::vector<data::RetrievalRow>& rows) {
  autograd::NoGradGuard no_grad;
  constexpr std::size_t kRowsPerPass = 8;
  std::int64_t answers = 0, answers_right = 0, rows_right = 0;
  std::map<double, std::pair<std::int64_t, std::int64_t>> depth_counts;  // depth → (right, total)
  for (std::size_t first = 0; first < rows.size(); first += kRowsPerPass) {
    const std::vector<data::RetrievalRow> part(rows.begin() + static_cast<std::ptrdiff_t>(first),
                                               rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), first + kRowsPerPass)));
    const data::RetrievalBatch batch = data::to_batch(part);
    const core::Tensor logits = model.forward(batch.inputs).contiguous();  // [B, T, V]
    const std::int64_t tokens = logits.size(1), vocab = logits.size(2);
    const float* values = logits.data<float>();
    for (std::size_t b = 0; b < part.size(); ++b) {
      const data::RetrievalRow& row = part[b];
      bool all_right = true;
      for (std::int64_t t : row.answers) {
        const float* scores = values + (static_cast<std::int64_t>(b) * tokens + t) * vocab;
        const auto predicted = static_cast<std::int64_t>(std::max_element(scores, scores + vocab) - scores);
        const bool right = predicted == row.targets[static_cast<std::size_t>(t)];
        answers_right += right ? 1 : 0;
        all_right = all_right && right;
        ++answers;
      }
      rows_right += all_right ? 1 : 0;
      auto& [right, total] = depth_counts[row.depth];
      right += all_right ? 1 : 0;
      ++total;
    }
  }
  Accuracy accuracy;
  accuracy.answers = static_cast<double>(answers_right) / static_cast<double>(std::max<std::int64_t>(answers, 1));
  accuracy.rows = static_cast<double>(rows_right) / static_cast<double>(rows.size());
  for (const auto& [depth, counts] : depth_counts)
    accuracy.by_depth[depth] = static_cast<double>(counts.first) / static_cast<double>(counts.second);
  return accuracy;
}

// Length curriculum: copies every parameter that `dir`'s model also has (same name and shape)
// into `model`; the rest — e.g. a sparse layer's scorer when the source was dense — keeps its
// fresh initialisation. A same-named tensor of another shape means another model: an error.
void init_from(nn::LlamaForCausalLM& model, const std::string& dir) {
  const std::map<std::string, core::Tensor> saved = io::load_safetensors(std::filesystem::path(dir) / io::kWeightsFile);
  std::int64_t copied = 0, fresh = 0;
  for (auto& [name, parameter] : model.named_parameters()) {
    const auto it = saved.find(name);
    if (it == saved.end()) {
      ++fresh;
      continue;
    }
    SIEVE_USER_CHECK(it->second.shape() == parameter.shape() && it->second.dtype() == parameter.dtype(),
                     "--init-from: '{}' in {} has another shape or dtype than this model's", name, dir);
    parameter.copy_from(it->second);
    ++copied;
  }
  SIEVE_USER_CHECK(copied > 0, "--init-from: no parameter of this model is in {}", dir);
  std::fprintf(stderr, "init from %s: %lld tensors copied, %lld freshly initialised\n", dir.c_str(),
               static_cast<long long>(copied), static_cast<long long>(fresh));
}

nn::LlamaConfig task_model_config(const RetrievalArgs& args, std::int64_t vocab) {
  nn::LlamaConfig config;
  config.vocab_size = vocab;
  config.hidden_size = args.hidden;
  config.intermediate_size = (args.hidden * 8 / 3 + 31) / 32 * 32;  // LLaMA's SwiGLU width, rounded
  config.num_hidden_layers = args.layers;
  config.num_attention_heads = args.heads;
  config.num_key_value_heads = args.heads;
  config.max_position_embeddings = args.context;
  apply_attention_flags(args.attention, config.attention);
  return config;
}

void run_retrieval(const RetrievalArgs& args) {
  if (args.threads > 0) core::set_num_threads(args.threads);
  SIEVE_USER_CHECK(args.steps > 0 && args.batch > 0, "--steps and --batch must be > 0");
  SIEVE_USER_CHECK(args.lr > 0.0, "--lr must be > 0, got {}", args.lr);
  SIEVE_USER_CHECK(args.hidden > 0 && args.layers > 0 && args.heads > 0 && args.hidden % args.heads == 0,
                   "--hidden must be a positive multiple of --heads, and --layers > 0");
  SIEVE_USER_CHECK(args.eval_size > 0 && args.eval_interval >= 0, "--eval-size must be > 0 and --eval-interval >= 0");
  const std::unique_ptr<data::RetrievalTask> task = data::make_retrieval_task(args.task, args.context);
  nn::LlamaConfig config = task_model_config(args, task->vocab_size());
  if (const std::string note =
          settle_new_sparse_model(config, args.attention.dense_below ? "--sparse-dense-below" : "");
      !note.empty())
    std::fprintf(stderr, "%s\n", note.c_str());
  const train::PrecisionChoice precision = train::choose_precision(args.precision, config, args.batch * args.context);
  std::fprintf(stderr, "%s", precision.report.c_str());

  nn::LlamaForCausalLM model(config, args.seed + 1);
  if (!args.init_from.empty()) init_from(model, args.init_from);
  train::check_scorer_warmup(model, args.scorer_warmup_steps, args.scorer_distill_weight);
  train::check_dense_blend(model, args.dense_blend_steps);
  train::check_scorer_distill_emphasis(args.scorer_distill_emphasis);
  model.set_scorer_distill_emphasis(args.scorer_distill_emphasis);
  train::AdamW optimizer(model.named_parameters(), {});
  train::LossScaler scaler({.enabled = precision.loss_scaling});
  const std::int64_t warmup = args.warmup >= 0 ? args.warmup : std::max<std::int64_t>(1, args.steps / 20);
  const train::CosineSchedule schedule{.peak_lr = static_cast<float>(args.lr),
                                       .min_lr = static_cast<float>(args.lr / 10.0),
                                       .warmup_steps = warmup,
                                       .total_steps = args.steps};
  // Training rows and the test set come from different streams of the seed.
  core::Rng train_rng(args.seed * 2 + 1), test_rng(args.seed * 2 + 2);
  const std::vector<data::RetrievalRow> test_rows =
      task->evaluation_rows(args.task == "passkey" ? args.eval_size : args.eval_size * 10, test_rng);

  nlohmann::json history = nlohmann::json::array();
  double train_seconds = 0.0, last_loss = 0.0;
  double last_distill_loss = std::numeric_limits<double>::quiet_NaN();  // mean BCE per layer
  for (std::int64_t step = 0; step < args.steps; ++step) {
    std::vector<data::RetrievalRow> rows;
    for (std::int64_t b = 0; b < args.batch; ++b) rows.push_back(task->sample(train_rng));
    const data::RetrievalBatch tensors = data::to_batch(rows);
    const data::Batch batch{tensors.inputs, tensors.targets};
    const auto start = Clock::now();
    model.set_scorer_distillation(step < args.scorer_warmup_steps ? args.scorer_distill_weight : 0.0f);
    model.take_scorer_distillation_totals();  // this step's sums start from zero
    model.set_dense_blend(train::dense_blend_share(step, args.dense_blend_steps));
    train::StepResult result;
    {
      const ops::PrecisionScope scope(precision.policy);
      result = train::optimizer_step(model, optimizer, scaler, {&batch, 1},
                                     schedule.lr_at(optimizer.steps_taken()), 1.0);
    }
    train_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    // The reported loss is the task's LM loss; the distillation loss, which the step also
    // minimised, is reported on its own (as `sieve train` does).
    const nn::LlamaForCausalLM::ScorerDistillationTotals distill = model.take_scorer_distillation_totals();
    last_loss = result.loss - distill.added;
    if (distill.calls > 0) last_distill_loss = distill.bce / static_cast<double>(distill.calls);
    const std::int64_t done = step + 1;
    const bool log = done % std::max<std::int64_t>(args.log_interval, 1) == 0 || done == args.steps;
    const bool eval = args.eval_interval > 0 && done % args.eval_interval == 0 && done != args.steps;
    if (eval) {
      model.set_dense_blend(0.0f);  // the sparse model is what is measured
      const Accuracy accuracy = evaluate(model, test_rows);
      history.push_back({{"step", done}, {"answer_accuracy", accuracy.answers}, {"row_accuracy", accuracy.rows}});
      std::fprintf(stderr, "step %lld: answer accuracy %.3f, row accuracy %.3f\n", static_cast<long long>(done),
                   accuracy.answers, accuracy.rows);
    }
    if (log) {
      const std::string distilling =
          distill.calls > 0 ? fmt::format("  scorer distill {:.4f}", last_distill_loss) : std::string();
      std::fprintf(stderr, "step %lld/%lld  loss %.4f%s  %.0f tokens/s\n", static_cast<long long>(done),
                   static_cast<long long>(args.steps), last_loss, distilling.c_str(),
                   static_cast<double>(done * args.batch * args.context) / train_seconds);
    }
  }
  model.set_scorer_distillation(0.0f);
  model.set_dense_blend(0.0f);
  const Accuracy accuracy = evaluate(model, test_rows);
  if (!args.out.empty()) io::save_model(model, args.out);

  nlohmann::json by_depth = nlohmann::json::object();
  for (const auto& [depth, share] : accuracy.by_depth) by_depth[fmt::format("{:.1f}", depth)] = share;
  nlohmann::json result{{"impl", "sieve"},
                        {"bench", "retrieval"},
                        {"task", args.task},
                        {"attention", config.attention.type},
                        {"context", args.context},
                        {"steps", args.steps},
                        {"batch", args.batch},
                        {"lr", args.lr},
                        {"layers", args.layers},
                        {"hidden", args.hidden},
                        {"precision", ops::describe(precision.policy)},
                        {"parameters", model.parameter_count()},
                        {"train_seconds", train_seconds},
                        {"tokens_per_s", static_cast<double>(args.steps * args.batch * args.context) / train_seconds},
                        {"final_loss", last_loss},
                        {"test_rows", test_rows.size()},
                        {"answer_accuracy", accuracy.answers},
                        {"row_accuracy", accuracy.rows},
                        {"history", history},
                        {"threads", core::num_threads()}};
  if (config.attention.type != "dense") {
    result["window"] = config.attention.window;
    result["global_cap"] = config.attention.global_cap;
    result["lsh_keys"] = config.attention.lsh_keys;
    result["lsh_rounds"] = config.attention.lsh_rounds;
    result["threshold"] = config.attention.threshold;
    result["dense_below"] = config.attention.dense_below;
    result["scorer_warmup_steps"] = args.scorer_warmup_steps;
    result["dense_blend_steps"] = args.dense_blend_steps;
    result["scorer_distill_emphasis"] = args.scorer_distill_emphasis;
    if (std::isfinite(last_distill_loss)) result["last_scorer_distill_loss"] = last_distill_loss;
  }
  if (args.task == "passkey") result["row_accuracy_by_depth"] = by_depth;
  if (args.json) {
    std::printf("%s\n", result.dump().c_str());
  } else {
    std::printf("retrieval %s, %s attention, context %lld: answer accuracy %.3f, row accuracy %.3f (%zu test rows)\n",
                args.task.c_str(), config.attention.type.c_str(), static_cast<long long>(args.context),
                accuracy.answers, accuracy.rows, test_rows.size());
  }
}

}  // namespace

void add_retrieval_bench(CLI::App* bench) {
  auto args = std::make_shared<RetrievalArgs>();
  CLI::App* cmd = bench->add_subcommand("retrieval", "Train a small model on passkey or mqar and measure its accuracy");
  cmd->add_option("--task", args->task, "passkey or mqar")->capture_default_str();
  cmd->add_option("--context", args->context, "Tokens per row")->capture_default_str();
  cmd->add_option("--steps", args->steps, "Training steps")->capture_default_str();
  cmd->add_option("--batch", args->batch, "Rows per step")->capture_default_str();
  cmd->add_option("--lr", args->lr, "Peak learning rate (cosine schedule)")->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "Linear warm-up steps (default: 5% of --steps)");
  cmd->add_option("--hidden", args->hidden, "Model width")->capture_default_str();
  cmd->add_option("--layers", args->layers, "Decoder layers")->capture_default_str();
  cmd->add_option("--heads", args->heads, "Attention heads")->capture_default_str();
  cmd->add_option("--eval-size", args->eval_size, "Test set: passkey rows per depth (0, 0.1, ..., 1); mqar rows / 10")
      ->capture_default_str();
  cmd->add_option("--eval-interval", args->eval_interval, "Also measure accuracy every N steps (0: only at the end)")
      ->capture_default_str();
  cmd->add_option("--log-interval", args->log_interval, "Progress line every N steps")->capture_default_str();
  cmd->add_option("--precision", args->precision, "fp32, bf16, fp16, tf32 or auto")->capture_default_str();
  cmd->add_option("--scorer-warmup-steps", args->scorer_warmup_steps,
                  "Sparse: distil the importance scorers toward peak dense attention for the first N steps");
  cmd->add_option("--scorer-distill-weight", args->scorer_distill_weight, "Weight of that distillation loss")
      ->capture_default_str();
  cmd->add_option("--scorer-distill-emphasis", args->scorer_distill_emphasis,
                  "Weight each key's distillation term by 1 + alpha * target^2 (0: plain mean)")
      ->capture_default_str();
  cmd->add_option("--dense-blend-steps", args->dense_blend_steps,
                  "Sparse: blend dense attention into the sparse layers, its share annealed from 1 to 0 over N steps");
  cmd->add_option("--seed", args->seed, "Initialisation, data and test-set seed")->capture_default_str();
  cmd->add_option("--out", args->out, "Save the trained model to this directory");
  cmd->add_option("--init-from", args->init_from,
                  "Start from a model saved with --out (e.g. trained at a shorter context): matching weights are copied");
  cmd->add_option("--threads", args->threads, "Threads (default: all cores)");
  cmd->add_flag("--json", args->json, "Print one JSON line");
  add_attention_flags(cmd, args->attention);
  cmd->callback([args] { run_retrieval(*args); });
}

}  // namespace sieve::apps
