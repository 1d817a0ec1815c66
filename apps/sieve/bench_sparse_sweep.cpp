// `sieve bench sparse-sweep`: the speed/quality curve of a trained sparse model over the
// threshold τ — per τ the validation loss, the share of dense attention mass the sparse key sets
// cover (SparseAttention::Coverage), and the forward time. One JSON line per τ with --json.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/sieve/attention_flags.h"
#include "apps/sieve/verbs.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/parallel.h"
#include "sieve/data/batch_loader.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/attention/sparse.h"

namespace sieve::apps {
namespace {

struct SweepArgs {
  std::string model_dir;
  std::string shard;
  std::vector<double> thresholds = {0.0, 0.1, 0.2, 0.3, 0.5, 0.7};
  std::int64_t context = 0;
  std::int64_t windows = 4;
  std::int64_t batch = 1;
  int threads = 0;
  bool json = false;
  AttentionFlags attention;
};

std::vector<nn::SparseAttention*> sparse_layers(nn::Module& model) {
  std::vector<nn::SparseAttention*> layers;
  for (auto& [path, module] : model.named_modules())
    if (auto* sparse = dynamic_cast<nn::SparseAttention*>(module.get()); sparse != nullptr && sparse->scorer())
      layers.push_back(sparse);
  return layers;
}

void run_sweep(const SweepArgs& args) {
  if (args.threads > 0) core::set_num_threads(args.threads);
  SIEVE_USER_CHECK(args.windows > 0 && args.batch > 0, "--windows and --batch must be > 0");
  for (double tau : args.thresholds)
    SIEVE_USER_CHECK(tau >= 0.0 && tau <= 1.0, "--thresholds: each must be in [0, 1], got {}", tau);
  const auto model = io::load_model(
      args.model_dir, [&](nn::LlamaConfig& config) { apply_attention_flags(args.attention, config.attention); });
  model->set_training(false);
  const std::vector<nn::SparseAttention*> layers = sparse_layers(*model);
  SIEVE_USER_CHECK(!layers.empty(), "model '{}' has no sparse attention layers to sweep", args.model_dir);
  const std::int64_t context = args.context > 0 ? args.context : model->config().max_position_embeddings;
  data::EvalWindows windows(data::TokenShard::open(args.shard), context, args.windows);
  autograd::NoGradGuard no_grad;
  for (double tau : args.thresholds) {
    for (nn::SparseAttention* layer : layers) {
      layer->set_threshold(static_cast<float>(tau));
      layer->reset_coverage();
    }
    // Pass 1, timed: the loss as the model computes it. Pass 2: coverage (it runs dense attention
    // beside the sparse one, so it is not timed).
    double loss_sum = 0.0, forward_ms = 0.0;
    std::int64_t rows = 0;
    windows.reset();
    while (auto batch = windows.next_batch(args.batch)) {
      const auto start = std::chrono::steady_clock::now();
      const double loss = model->loss(batch->inputs, batch->targets).item();
      forward_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      loss_sum += loss * static_cast<double>(batch->inputs.size(0));
      rows += batch->inputs.size(0);
    }
    for (nn::SparseAttention* layer : layers) layer->set_measure_coverage(true);
    windows.reset();
    while (auto batch = windows.next_batch(args.batch)) model->forward(batch->inputs);
    double coverage_sum = 0.0;
    std::int64_t queries = 0;
    for (nn::SparseAttention* layer : layers) {
      coverage_sum += layer->coverage().sum;
      queries += layer->coverage().queries;
      layer->set_measure_coverage(false);
    }
    const double val_loss = loss_sum / static_cast<double>(rows);
    const double coverage = queries > 0 ? coverage_sum / static_cast<double>(queries) : 0.0;
    const nlohmann::json result{{"impl", "sieve"},   {"bench", "sparse_sweep"}, {"threshold", tau},
                                {"context", context}, {"windows", rows},         {"val_loss", val_loss},
                                {"perplexity", std::exp(val_loss)}, {"dense_mass_coverage", coverage},
                                {"forward_ms_per_window", forward_ms / static_cast<double>(rows)},
                                {"threads", core::num_threads()}};
    if (args.json) {
      std::printf("%s\n", result.dump().c_str());
    } else {
      std::printf("tau %.2f: val loss %.4f (perplexity %.2f), dense mass covered %.4f, forward %.1f ms/window\n", tau,
                  val_loss, std::exp(val_loss), coverage, forward_ms / static_cast<double>(rows));
    }
    std::fflush(stdout);
  }
}

}  // namespace

void add_sparse_sweep_bench(CLI::App* bench) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = bench->add_subcommand("sparse-sweep", "Validation loss, dense-mass coverage and speed over tau");
  cmd->add_option("--model", args->model_dir, "A model directory with sparse attention layers")->required();
  cmd->add_option("--shard", args->shard, "Validation token shard (e.g. RUN/data/val.bin)")->required();
  cmd->add_option("--thresholds", args->thresholds, "Values of tau to measure")->capture_default_str();
  cmd->add_option("--context", args->context, "Tokens per window (default: the model's context)");
  cmd->add_option("--windows", args->windows, "Validation windows per tau")->capture_default_str();
  cmd->add_option("--batch", args->batch, "Windows per forward pass")->capture_default_str();
  cmd->add_option("--threads", args->threads, "Threads (default: all cores)");
  cmd->add_flag("--json", args->json, "One JSON line per tau");
  add_attention_flags(cmd, args->attention);
  cmd->callback([args] { run_sweep(*args); });
}

}  // namespace sieve::apps
