// `sieve bench decode` (ms per generated token with a KV cache) and `sieve bench prefill`
// (prompt tokens per second), batch 1, on a preset with random weights or a model directory —
// plain or quantized — optionally quantized in memory first (--scheme), so f32, int8 and int4
// run on the same weights in one script.
#include <algorithm>
#include <cstdio>

#include "apps/sieve/attention_flags.h"
#include "apps/sieve/bench_common.h"
#include "apps/sieve/inference_model.h"
#include "apps/sieve/verbs.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/core/cpu_features.h"
#include "sieve/core/parallel.h"
#include "sieve/nn/generation.h"
#include "sieve/nn/models/presets.h"

namespace sieve::apps {
namespace {

struct InferenceBenchArgs {
  CommonBenchArgs common;
  std::string preset = "lm-17m";
  std::string model_dir;  // --model: overrides the preset
  std::string scheme;     // --scheme int8|int4: quantize in memory first
  std::int64_t group_size = compress::kDefaultInt4GroupSize;
  std::int64_t context = 0;  // decode: tokens before timing; prefill: the prompt
  std::int64_t tokens = 32;  // decode: tokens generated
  int repeats = 3;           // prefill: timed runs (best is reported)
  AttentionFlags attention;
};

struct BenchModel {
  std::unique_ptr<nn::LlamaForCausalLM> model;
  std::string name;       // the preset or the directory
  std::string precision;  // f32, or the quantization scheme
  bool from_preset = false;
};

// The model to time, with room for `positions` tokens (positions are RoPE: any length runs).
BenchModel bench_model(const InferenceBenchArgs& args, std::int64_t positions) {
  const auto adjust = [&](nn::LlamaConfig& config) {
    config.max_position_embeddings = std::max(config.max_position_embeddings, positions);
    apply_attention_flags(args.attention, config.attention);
  };
  BenchModel out;
  if (!args.model_dir.empty()) {
    out.model = load_model_dir(args.model_dir, adjust);
    out.name = args.model_dir;
  } else {
    nn::LlamaConfig config = nn::preset_config(args.preset);
    adjust(config);
    out.model = std::make_unique<nn::LlamaForCausalLM>(config, 1);
    out.name = args.preset;
    out.from_preset = true;
  }
  out.model->set_training(false);
  const std::string source = args.attention.dense_below ? "--sparse-dense-below" : "";
  if (const std::string note = sparse_mode_note(out.model->config(), source); !note.empty())
    std::fprintf(stderr, "%s\n", note.c_str());
  if (!args.scheme.empty()) {
    const auto precision = compress::precision_from_name(args.scheme);
    SIEVE_USER_CHECK(precision && *precision != compress::Precision::f32, "--scheme must be int8 or int4, got '{}'",
                     args.scheme);
    compress::QuantizationPlan plan = compress::uniform_plan(*out.model, *precision);
    plan.group_size = args.group_size;
    compress::quantize_model(*out.model, plan);
  }
  const compress::QuantizationPlan plan = compress::plan_of(*out.model);
  out.precision = compress::quantizes_any(plan) ? plan.scheme : "f32";
  return out;
}

nlohmann::json base_result(const char* bench, const BenchModel& m) {
  return {{"impl", "sieve"},
          {"bench", bench},
          {m.from_preset ? "preset" : "model", m.name},
          {"precision", m.precision},
          {"attention", m.model->config().attention.type},
          {"threads", core::num_threads()},
          {"isa", core::cpu_features().kernel_isa()}};
}

void run_decode_bench(const InferenceBenchArgs& args) {
  args.common.apply();
  const std::int64_t context = args.context > 0 ? args.context : 128;
  SIEVE_USER_CHECK(args.tokens > 0, "--tokens must be > 0, got {}", args.tokens);
  const BenchModel m = bench_model(args, context + args.tokens);
  core::Rng rng(5);
  const core::Tensor prompt_tensor = random_tokens(1, context, m.model->config().vocab_size, rng);
  const std::vector<std::int64_t> prompt(prompt_tensor.data<std::int64_t>(),
                                         prompt_tensor.data<std::int64_t>() + context);
  nn::GenerationOptions options;
  options.max_new_tokens = args.tokens;
  options.sampling.temperature = 0.0f;
  BenchClock::time_point first_token_at;
  std::int64_t seen = 0;
  const auto start = BenchClock::now();
  nn::generate(*m.model, prompt, options, [&](std::int64_t) {
    if (seen++ == 0) first_token_at = BenchClock::now();
    return true;
  });
  const double total_ms = ms_since(start);
  const double prefill_ms = std::chrono::duration<double, std::milli>(first_token_at - start).count();
  const double ms_per_token = (total_ms - prefill_ms) / static_cast<double>(std::max<std::int64_t>(1, seen - 1));
  nlohmann::json result = base_result("decode", m);
  result.update({{"context", context}, {"tokens", seen}, {"prefill_ms", prefill_ms},
                 {"ms_per_token", ms_per_token}, {"peak_rss_mb", peak_rss_mb()}});
  emit_bench_result(args.common.json, result,
                    fmt::format("decode {} ({}) after {} tokens: {:.2f} ms/token (prefill {:.1f} ms)", m.name,
                                m.precision, context, ms_per_token, prefill_ms));
}

void run_prefill_bench(const InferenceBenchArgs& args) {
  args.common.apply();
  const std::int64_t prompt = args.context > 0 ? args.context : 256;
  SIEVE_USER_CHECK(args.repeats > 0, "--repeats must be > 0, got {}", args.repeats);
  const BenchModel m = bench_model(args, prompt);
  core::Rng rng(5);
  const core::Tensor ids = random_tokens(1, prompt, m.model->config().vocab_size, rng);
  autograd::NoGradGuard no_grad;
  double best_ms = 1e30;
  for (int r = 0; r < args.repeats + 1; ++r) {  // the first run warms up, untimed
    nn::KvCache cache = m.model->make_cache(1, prompt);
    const auto start = BenchClock::now();
    m.model->next_token_logits(ids, &cache);
    if (r > 0) best_ms = std::min(best_ms, ms_since(start));
  }
  const double tokens_per_s = static_cast<double>(prompt) / (best_ms / 1000.0);
  nlohmann::json result = base_result("prefill", m);
  result.update({{"prompt", prompt}, {"batch", 1}, {"prefill_ms", best_ms}, {"tokens_per_s", tokens_per_s},
                 {"repeats", args.repeats}, {"peak_rss_mb", peak_rss_mb()}});
  emit_bench_result(args.common.json, result,
                    fmt::format("prefill {} ({}) of {} tokens: {:.1f} ms, {:.0f} tokens/s", m.name, m.precision,
                                prompt, best_ms, tokens_per_s));
}

void add_model_flags(CLI::App* cmd, InferenceBenchArgs& args) {
  add_common_bench_flags(cmd, args.common);
  cmd->add_option("--preset", args.preset, "Model preset with random weights")->capture_default_str();
  cmd->add_option("--model", args.model_dir, "Model directory, plain or quantized (instead of --preset)")
      ->excludes(cmd->get_option("--preset"));
  cmd->add_option("--scheme", args.scheme, "Quantize the model in memory first: int8 or int4");
  cmd->add_option("--group-size", args.group_size, "With --scheme int4: inputs per scale")->capture_default_str();
  add_attention_flags(cmd, args.attention);
}

}  // namespace

void add_inference_benches(CLI::App* bench) {
  auto decode = std::make_shared<InferenceBenchArgs>();
  CLI::App* d = bench->add_subcommand("decode", "Milliseconds per generated token with a KV cache (batch 1)");
  add_model_flags(d, *decode);
  d->add_option("--context", decode->context, "Tokens of context before timing (default 128)");
  d->add_option("--tokens", decode->tokens, "Tokens to generate")->capture_default_str();
  d->callback([decode] { run_decode_bench(*decode); });

  auto prefill = std::make_shared<InferenceBenchArgs>();
  CLI::App* p = bench->add_subcommand("prefill", "Prompt tokens per second through the model (batch 1)");
  add_model_flags(p, *prefill);
  p->add_option("--context", prefill->context, "Prompt tokens (default 256)");
  p->add_option("--repeats", prefill->repeats, "Timed runs after a warm-up (best is reported)")->capture_default_str();
  p->callback([prefill] { run_prefill_bench(*prefill); });
}

}  // namespace sieve::apps
