// `sieve bench train|attention|matmul` (decode and prefill: bench_inference.cpp; serve: bench_serve.cpp): the
// measurements bench/ compares against peers. Each prints a human line, or with --json exactly
// one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/sieve/attention_flags.h"
#include "apps/sieve/bench_common.h"
#include "apps/sieve/verbs.h"
#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/cpu_features.h"
#include "sieve/core/parallel.h"
#include "sieve/kernels/cpu/matmul.h"
#include "sieve/nn/adapters/lora.h"
#include "sieve/nn/models/presets.h"
#include "sieve/kernels/cpu/sparse_attention_plan.h"
#include "sieve/ops/attention.h"
#include "sieve/ops/sparse_attention.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/core/allocator.h"
#include "sieve/train/adamw.h"
#include "sieve/train/precision_choice.h"
#include "sieve/train/train_step.h"

namespace sieve::apps {
namespace {

using Clock = BenchClock;
using CommonArgs = CommonBenchArgs;

// ---- train: full training steps (forward, backward, AdamW) on random tokens -------------------
struct TrainBenchArgs {
  CommonArgs common;
  std::string preset = "lm-17m";
  std::int64_t steps = 5;
  std::int64_t warmup = 1;
  std::int64_t batch = 8;
  std::int64_t context = 0;  // 0 = the preset's context
  std::string precision = "fp32";
  std::int64_t lora_rank = 0;  // > 0: LoRA fine-tuning cost instead of full training
  std::string lora_targets = "attn";
  bool activation_checkpointing = false;
  AttentionFlags attention;
};

// Bytes of the gradients and AdamW moments training keeps: 3 f32 values per trainable weight.
double optimizer_and_gradient_mb(const nn::Module& model) {
  std::int64_t trainable = 0;
  for (const auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) trainable += p.numel();
  return static_cast<double>(trainable) * 3.0 * sizeof(float) / (1024.0 * 1024.0);
}

void run_train_bench(const TrainBenchArgs& args) {
  args.common.apply();
  SIEVE_USER_CHECK(args.steps > 0, "--steps must be > 0, got {}", args.steps);
  SIEVE_USER_CHECK(args.batch > 0, "--batch must be > 0, got {}", args.batch);
  nn::LlamaConfig config = nn::preset_config(args.preset);
  apply_attention_flags(args.attention, config.attention);
  const std::int64_t context = args.context > 0 ? args.context : config.max_position_embeddings;
  SIEVE_USER_CHECK(context <= config.max_position_embeddings, "--context {} exceeds the preset's {}", context,
                   config.max_position_embeddings);
  // Reports go to stderr so that --json stays one line on stdout.
  if (const std::string note =
          settle_new_sparse_model(config, args.attention.dense_below ? "--sparse-dense-below" : "");
      !note.empty())
    std::fprintf(stderr, "%s\n", note.c_str());
  const train::PrecisionChoice precision = train::choose_precision(args.precision, config, args.batch * context);
  std::fprintf(stderr, "%s", precision.report.c_str());
  nn::LlamaForCausalLM model(config, 1);
  if (args.lora_rank > 0) {
    nn::apply_lora(model, {.rank = args.lora_rank, .targets = args.lora_targets});
    std::fprintf(stderr, "%s\n", nn::trainable_share_line(model).c_str());
  }
  model.set_activation_checkpointing(args.activation_checkpointing);
  train::AdamW optimizer(model.named_parameters(), {});
  // The trainer's own step (loss scaling, unscale and overflow check included; no clipping,
  // like the PyTorch peer), under the chosen precision.
  train::LossScaler scaler({.enabled = precision.loss_scaling});
  core::Rng rng(7);
  double total_ms = 0.0;
  double last_loss = 0.0;
  auto& allocator = core::allocator();
  for (std::int64_t step = 0; step < args.warmup + args.steps; ++step) {
    const data::Batch batch{random_tokens(args.batch, context, config.vocab_size, rng),
                            random_tokens(args.batch, context, config.vocab_size, rng)};
    if (step == args.warmup) allocator.reset_peak();
    const auto start = Clock::now();
    const ops::PrecisionScope scope(precision.policy);
    const train::StepResult result = train::optimizer_step(model, optimizer, scaler, {&batch, 1}, 3e-4f, 0.0);
    const double ms = ms_since(start);
    last_loss = result.loss;
    if (step >= args.warmup) total_ms += ms;
  }
  const double step_ms = total_ms / static_cast<double>(args.steps);
  const double tokens_per_s = static_cast<double>(args.batch * context) / (step_ms / 1000.0);
  const double peak_tensor_mb = static_cast<double>(allocator.stats().peak_allocated_bytes) / (1024.0 * 1024.0);
  const std::string policy = ops::describe(precision.policy);
  nlohmann::json result{{"impl", "sieve"},          {"bench", "train"},         {"preset", args.preset},
                        {"precision", policy},      {"precision_mode", args.precision},
                        {"batch", args.batch},      {"context", context},
                        {"steps", args.steps},      {"step_ms", step_ms},       {"tokens_per_s", tokens_per_s},
                        {"peak_rss_mb", peak_rss_mb()}, {"peak_tensor_mb", peak_tensor_mb},
                        {"threads", core::num_threads()}, {"loss", last_loss},
                        {"optimizer_and_gradient_mb", optimizer_and_gradient_mb(model)},
                        {"activation_checkpointing", args.activation_checkpointing},
                        {"attention", config.attention.type}, {"isa", core::cpu_features().kernel_isa()},
                        {"bf16_gemm", kernels::cpu::matmul_bf16_is_native() ? "native" : "widened"}};
  if (args.lora_rank > 0) {
    result["lora_rank"] = args.lora_rank;
    result["lora_targets"] = args.lora_targets;
  }
  emit_bench_result(args.common.json, result,
       fmt::format("train {} ({}): {:.1f} ms/step, {:.0f} tokens/s, peak RSS {:.0f} MB, peak tensors {:.0f} MB "
                   "({} threads)",
                   args.preset, policy, step_ms, tokens_per_s, peak_rss_mb(), peak_tensor_mb, core::num_threads()));
}

// ---- attention: one attention op's forward and backward, dense or sparse ----------------------
struct AttentionBenchArgs {
  CommonArgs common;
  std::int64_t seq = 4096;
  std::int64_t heads = 8;
  std::int64_t head_dim = 64;
  std::int64_t batch = 1;
  int repeats = 3;
  int dense_repeats = 1;  // --attention sparse: timed rounds of the dense kernel beside it (0: skip)
  AttentionFlags attention;
};

struct AttentionTimes {
  double forward_ms = 1e30, backward_ms = 1e30;
};

// Best of `repeats` rounds after one untimed warm-up round.
template <typename Op>
AttentionTimes time_attention(const Op& op, const std::vector<core::Tensor>& inputs, const core::Tensor& grad,
                              int repeats) {
  AttentionTimes best;
  for (int r = 0; r < repeats + 1; ++r) {
    for (core::Tensor t : inputs) t.zero_grad();
    auto start = Clock::now();
    core::Tensor out = op();
    const double f = ms_since(start);
    start = Clock::now();
    autograd::backward(out, grad);
    const double b = ms_since(start);
    if (r > 0) {
      best.forward_ms = std::min(best.forward_ms, f);
      best.backward_ms = std::min(best.backward_ms, b);
    }
  }
  return best;
}

void run_attention_bench(const AttentionBenchArgs& args) {
  args.common.apply();
  nn::AttentionConfig config;
  apply_attention_flags(args.attention, config);
  const std::string& kind = config.type;
  SIEVE_USER_CHECK(args.seq > 0 && args.heads > 0 && args.head_dim > 0 && args.batch > 0,
                   "--seq, --heads, --head-dim and --batch must be > 0");
  SIEVE_USER_CHECK(args.repeats > 0 && args.dense_repeats >= 0, "--repeats must be > 0 and --dense-repeats >= 0");
  core::Rng rng(3);
  const core::Shape shape{args.batch, args.seq, args.heads, args.head_dim};
  auto make = [&] { return nn::normal_tensor(shape, 1.0, rng).set_requires_grad(true); };
  core::Tensor q = make(), k = make(), v = make();
  const core::Tensor grad = nn::normal_tensor(shape, 1.0, rng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(args.head_dim));
  const auto dense = [&] { return ops::causal_attention(q, k, v, scale); };
  nlohmann::json result{{"impl", "sieve"}, {"bench", "attention"}, {"attention", kind},
                        {"seq", args.seq}, {"heads", args.heads},  {"head_dim", args.head_dim},
                        {"batch", args.batch}, {"threads", core::num_threads()},
                        {"isa", core::cpu_features().kernel_isa()}};
  AttentionTimes times;
  if (kind == "dense") {
    times = time_attention(dense, {q, k, v}, grad, args.repeats);
  } else {
    // Random scores stand in for the scorer (its cost is a few small convolutions); key_bias takes
    // a gradient as in training.
    ops::SparseAttentionParams params;
    params.window = config.window;
    params.global_cap = kind == "local" ? 0 : config.global_cap;
    params.lsh_keys = config.lsh_keys;
    params.lsh_rounds = kind == "local" ? 0 : config.lsh_rounds;
    params.threshold = static_cast<float>(config.threshold);
    params.keep_ratio = static_cast<float>(config.keep_ratio);
    const std::int64_t buckets = ops::lsh_bucket_count(params, args.seq);
    const core::Tensor scores = nn::normal_tensor({args.batch, args.seq}, 1.0, rng);
    core::Tensor key_bias = core::Tensor::zeros({args.batch, args.seq});
    key_bias.set_requires_grad(true);
    core::Tensor rotations;
    if (params.lsh_rounds > 0)
      rotations = core::Tensor::from_vector(
          kernels::cpu::make_lsh_rotations(params.lsh_rounds, args.heads, args.head_dim, buckets, 11),
          {params.lsh_rounds, args.heads, args.head_dim, buckets / 2});
    const auto sparse = [&] { return ops::sparse_attention(q, k, v, scores, key_bias, rotations, params, scale); };
    times = time_attention(sparse, {q, k, v, key_bias}, grad, args.repeats);
    result["window"] = params.window;
    result["global_cap"] = params.global_cap;
    result["lsh_keys"] = params.lsh_keys;
    result["lsh_rounds"] = params.lsh_rounds;
    result["lsh_buckets"] = buckets;
    result["threshold"] = params.threshold;
    if (args.dense_repeats > 0) {
      const AttentionTimes d = time_attention(dense, {q, k, v}, grad, args.dense_repeats);
      result["dense_forward_ms"] = d.forward_ms;
      result["dense_backward_ms"] = d.backward_ms;
      result["speedup_forward"] = d.forward_ms / times.forward_ms;
      result["speedup_backward"] = d.backward_ms / times.backward_ms;
    }
  }
  result["forward_ms"] = times.forward_ms;
  result["backward_ms"] = times.backward_ms;
  emit_bench_result(args.common.json, result,
       fmt::format("attention {} seq {} heads {} head_dim {}: forward {:.2f} ms, backward {:.2f} ms{}", kind, args.seq,
                   args.heads, args.head_dim, times.forward_ms, times.backward_ms,
                   result.contains("dense_forward_ms")
                       ? fmt::format(" (dense kernel: {:.2f} / {:.2f} ms)", result["dense_forward_ms"].get<double>(),
                                     result["dense_backward_ms"].get<double>())
                       : std::string()));
}

// ---- matmul: GFLOP/s at the lm-17m training shapes against the 2048³ ceiling ------------------
struct MatmulBenchArgs {
  CommonArgs common;
  int repeats = 5;
};

double matmul_gflops(std::int64_t m, std::int64_t n, std::int64_t k, bool trans_a, bool trans_b, int repeats) {
  core::Rng rng(11);
  const core::Tensor a = nn::normal_tensor({m * k}, 1.0, rng);
  const core::Tensor b = nn::normal_tensor({k * n}, 1.0, rng);
  core::Tensor c = core::Tensor::empty({m * n});
  kernels::cpu::MatmulSpec spec;
  spec.m = m;
  spec.n = n;
  spec.k = k;
  spec.trans_a = trans_a;
  spec.trans_b = trans_b;
  double best_ms = 1e30;
  for (int r = 0; r < repeats + 1; ++r) {
    const auto start = Clock::now();
    kernels::cpu::matmul(spec, a.raw_data(), b.raw_data(), c.raw_data());
    if (r > 0) best_ms = std::min(best_ms, ms_since(start));
  }
  return 2.0 * static_cast<double>(m * n * k) / (best_ms * 1e6);
}

void run_matmul_bench(const MatmulBenchArgs& args) {
  args.common.apply();
  struct Case {
    const char* name;
    std::int64_t m, n, k;
    bool trans_a, trans_b;
  };
  // Rows = batch 8 × context 256 tokens. Forward uses W [out, in] transposed; backward adds
  // dX = dY·W and dW = dYᵀ·X.
  const Case cases[] = {
      {"ceiling 2048^3", 2048, 2048, 2048, false, false},
      {"qkvo fwd 2048x384x384", 2048, 384, 384, false, true},
      {"mlp up fwd 2048x1024x384", 2048, 1024, 384, false, true},
      {"mlp down fwd 2048x384x1024", 2048, 384, 1024, false, true},
      {"lm_head fwd 2048x8192x384", 2048, 8192, 384, false, true},
      {"lm_head dX 2048x384x8192", 2048, 384, 8192, false, false},
      {"lm_head dW 8192x384x2048", 8192, 384, 2048, true, false},
      {"mlp up dW 1024x384x2048", 1024, 384, 2048, true, false},
  };
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : cases) {
    const double gflops = matmul_gflops(c.m, c.n, c.k, c.trans_a, c.trans_b, args.repeats);
    rows.push_back({{"shape", c.name}, {"gflops", gflops}});
    if (!args.common.json) std::printf("%-28s %7.1f GFLOP/s\n", c.name, gflops);
  }
  if (args.common.json)
    std::printf("%s\n", nlohmann::json{{"impl", "sieve"}, {"bench", "matmul"}, {"threads", core::num_threads()},
                                        {"results", rows}}
                            .dump()
                            .c_str());
}

void add_common(CLI::App* cmd, CommonArgs& common) { add_common_bench_flags(cmd, common); }

}  // namespace

void add_bench_verb(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Measure training, attention, decoding, matmul and serving speed");
  bench->require_subcommand(1);

  auto train = std::make_shared<TrainBenchArgs>();
  CLI::App* t = bench->add_subcommand("train", "Training steps per second on random tokens");
  add_common(t, train->common);
  t->add_option("--preset", train->preset, "Model preset")->capture_default_str();
  t->add_option("--steps", train->steps, "Timed steps")->capture_default_str();
  t->add_option("--warmup", train->warmup, "Untimed steps first")->capture_default_str();
  t->add_option("--batch", train->batch, "Sequences per step")->capture_default_str();
  t->add_option("--context", train->context, "Tokens per sequence (default: the preset's)");
  t->add_option("--precision", train->precision, "fp32, bf16, fp16, tf32 or auto")->capture_default_str();
  add_attention_flags(t, train->attention);
  t->add_flag("--activation-checkpointing", train->activation_checkpointing,
              "Recompute each decoder block in backward instead of keeping its activations");
  t->add_option("--lora-rank", train->lora_rank, "Fine-tune LoRA adapters of this rank instead (0: full training)")
      ->capture_default_str();
  t->add_option("--lora-targets", train->lora_targets, "Linear layers that get adapters (see sieve finetune)")
      ->capture_default_str();
  t->callback([train] { run_train_bench(*train); });

  auto attention = std::make_shared<AttentionBenchArgs>();
  CLI::App* a = bench->add_subcommand("attention", "Causal attention forward and backward time");
  add_common(a, attention->common);
  add_attention_flags(a, attention->attention);
  a->add_option("--dense-repeats", attention->dense_repeats,
                "Sparse/local: timed rounds of the dense kernel in the same run (0: skip)")
      ->capture_default_str();
  a->add_option("--seq", attention->seq, "Sequence length")->capture_default_str();
  a->add_option("--heads", attention->heads, "Heads")->capture_default_str();
  a->add_option("--head-dim", attention->head_dim, "Head dimension")->capture_default_str();
  a->add_option("--batch", attention->batch, "Batch")->capture_default_str();
  a->add_option("--repeats", attention->repeats, "Timed repeats (best is reported)")->capture_default_str();
  a->callback([attention] { run_attention_bench(*attention); });

  add_inference_benches(bench);
  add_sparse_sweep_bench(bench);
  add_retrieval_bench(bench);
  add_serve_bench(bench);

  auto matmul = std::make_shared<MatmulBenchArgs>();
  CLI::App* m = bench->add_subcommand("matmul", "GEMM GFLOP/s at the lm-17m shapes and at 2048^3");
  add_common(m, matmul->common);
  m->add_option("--repeats", matmul->repeats, "Timed repeats (best is reported)")->capture_default_str();
  m->callback([matmul] { run_matmul_bench(*matmul); });
}

}  // namespace sieve::apps
