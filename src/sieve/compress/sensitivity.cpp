#include "sieve/compress/sensitivity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/core/error.h"
#include "sieve/core/rng.h"
#include "sieve/nn/layers.h"

// NOTE [Sensitivity analysis]
// A layer's sensitivity is measured, not estimated: its weight format is switched to the
// quantized one (the f32 weight kept), the model's loss on the calibration batches is computed,
// and the f32 product is restored. Each Linear is measured at int8 and at int4; groups (every
// attention projection, every MLP projection, all of them) show how the per-layer changes add
// up. Bytes saved come from the formats' sizes; decoding time saved is measured on the layer's
// own product at one token (f32 GEMV vs the quantized one), the best of several timed runs, and
// cached per (shape, precision) since many layers share a shape.

namespace sieve::compress {
namespace {

using core::Tensor;

constexpr double kTimedMilliseconds = 20.0;  // per measurement, spread over repeats
constexpr int kTimedRounds = 3;              // best of

// Milliseconds one call of `run` takes: best of kTimedRounds rounds of enough calls to fill
// kTimedMilliseconds / kTimedRounds.
template <typename Run>
double best_call_ms(const Run& run) {
  using Clock = std::chrono::steady_clock;
  run();  // warm up (primitive creation, caches)
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const auto start = Clock::now();
  run();
  const double once = std::max(1e-3, ms(Clock::now() - start));
  const int calls = std::max(1, static_cast<int>(kTimedMilliseconds / kTimedRounds / once));
  double best = once;
  for (int round = 0; round < kTimedRounds; ++round) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) run();
    best = std::min(best, ms(Clock::now() - t0) / calls);
  }
  return best;
}

// The decode-time saving of one layer's product, measured on a random one-token input.
class DecodeTimer {
 public:
  double saved_ms(nn::Linear& linear, const nn::LinearWeightFormat& format, Precision precision) {
    const auto key = std::make_tuple(linear.out_features(), linear.in_features(), precision);
    if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
    autograd::NoGradGuard no_grad;
    core::Rng rng(1);
    const Tensor x = nn::normal_tensor({1, linear.in_features()}, 1.0, rng);
    const Tensor& weight = linear.weight();
    const double f32 = best_call_ms([&] { (void)linear.forward(x); });
    const double quantized = best_call_ms([&] { (void)format.product(x, weight); });
    return cache_[key] = f32 - quantized;
  }

 private:
  std::map<std::tuple<std::int64_t, std::int64_t, Precision>, double> cache_;
};

bool is_attention_projection(const std::string& path) {
  return path.ends_with("q_proj") || path.ends_with("k_proj") || path.ends_with("v_proj") || path.ends_with("o_proj");
}
bool is_mlp_projection(const std::string& path) {
  return path.ends_with("gate_proj") || path.ends_with("up_proj") || path.ends_with("down_proj");
}

struct Target {
  std::string path;
  nn::Linear* linear;
};

}  // namespace

double mean_loss(const nn::LlamaForCausalLM& model, const std::vector<Tensor>& batches) {
  autograd::NoGradGuard no_grad;
  double weighted = 0.0;
  std::int64_t tokens = 0;
  for (const Tensor& batch : batches) {
    SIEVE_CHECK(batch.dim() == 2 && batch.size(1) >= 2, "mean_loss: expected [B, T + 1] token ids");
    const std::int64_t T = batch.size(1) - 1;
    const Tensor ids = batch.slice(1, 0, T).contiguous(), targets = batch.slice(1, 1, T + 1).contiguous();
    const std::int64_t count = batch.size(0) * T;
    weighted += model.loss(ids, targets).item() * static_cast<double>(count);
    tokens += count;
  }
  SIEVE_CHECK(tokens > 0, "mean_loss: no tokens");
  return weighted / static_cast<double>(tokens);
}

SensitivityReport analyze_sensitivity(nn::LlamaForCausalLM& model, const std::vector<Tensor>& batches,
                                      const QuantizationPlan& settings, const std::map<std::string, float>* input_ranges,
                                      const std::function<void(const SensitivityRow&)>& progress) {
  SIEVE_CHECK(settings.activations == ActivationMode::dynamic || input_ranges != nullptr,
              "analyze_sensitivity: static activations need calibrated input ranges");
  std::vector<Target> targets;
  for (const auto& [path, linear] : model_linears(model)) {
    if (!quantized_by_default(path)) continue;
    SIEVE_USER_CHECK(linear->weight().defined() && linear->weight_format() == nullptr,
                     "'{}' is already quantized: the sensitivity analysis needs the f32 model", path);
    targets.push_back({path, linear});
  }
  SensitivityReport report;
  report.settings = settings;
  report.f32_loss = mean_loss(model, batches);
  for (const Tensor& batch : batches) report.tokens += batch.size(0) * (batch.size(1) - 1);

  auto format_for = [&](const Target& target, Precision precision) {
    const float* range = nullptr;
    if (precision == Precision::int8 && settings.activations == ActivationMode::calibrated) {
      const auto it = input_ranges->find(target.path);
      SIEVE_CHECK(it != input_ranges->end(), "analyze_sensitivity: no calibration range for '{}'", target.path);
      range = &it->second;
    }
    return quantized_format(*target.linear, precision, settings, range);
  };
  // Quantizes `members` at `precision`, measures the loss, restores them; the row without its
  // timing.
  auto measure = [&](const std::string& name, bool group, const std::vector<const Target*>& members,
                     Precision precision) {
    SensitivityRow row{name, group, precision};
    for (const Target* target : members) {
      auto format = format_for(*target, precision);
      row.bytes_saved += target->linear->in_features() * target->linear->out_features() * std::int64_t{4} -
                         format->weight_bytes();
      target->linear->set_weight_format(std::move(format), false);
    }
    row.delta_loss = mean_loss(model, batches) - report.f32_loss;
    for (const Target* target : members) target->linear->set_weight_format(nullptr, false);
    row.delta_ppl_percent = 100.0 * std::expm1(row.delta_loss);
    return row;
  };

  DecodeTimer timer;
  std::map<std::string, std::map<Precision, double>> saved_ms;  // per layer, for the groups' sums
  for (const Precision precision : {Precision::int8, Precision::int4}) {
    for (const Target& target : targets) {
      SensitivityRow row = measure(target.path, false, {&target}, precision);
      row.decode_ms_saved = timer.saved_ms(*target.linear, *format_for(target, precision), precision);
      saved_ms[target.path][precision] = row.decode_ms_saved;
      if (progress) progress(row);
      report.rows.push_back(std::move(row));
    }
  }
  const std::pair<const char*, bool (*)(const std::string&)> groups[] = {
      {"attention", is_attention_projection}, {"mlp", is_mlp_projection}, {"all", [](const std::string&) { return true; }}};
  for (const auto& [name, member] : groups) {
    std::vector<const Target*> members;
    for (const Target& target : targets)
      if (member(target.path)) members.push_back(&target);
    if (members.empty()) continue;
    for (const Precision precision : {Precision::int8, Precision::int4}) {
      SensitivityRow row = measure(name, true, members, precision);
      for (const Target* target : members) row.decode_ms_saved += saved_ms[target->path][precision];
      if (progress) progress(row);
      report.rows.push_back(std::move(row));
    }
  }
  return report;
}

nlohmann::json sensitivity_json(const SensitivityReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SensitivityRow& row : report.rows)
    rows.push_back({{"layer", row.layer},
                    {"group", row.group},
                    {"precision", precision_name(row.precision)},
                    {"delta_loss", row.delta_loss},
                    {"delta_ppl_percent", row.delta_ppl_percent},
                    {"bytes_saved", row.bytes_saved},
                    {"decode_ms_saved", row.decode_ms_saved}});
  return {{"f32_loss", report.f32_loss},
          {"f32_perplexity", std::exp(report.f32_loss)},
          {"tokens", report.tokens},
          {"group_size", report.settings.group_size},
          {"int4_scale_dtype", core::dtype_name(report.settings.int4_scale_dtype)},
          {"activations", activation_mode_name(report.settings.activations)},
          {"rows", rows}};
}

std::string sensitivity_markdown(const SensitivityReport& report) {
  std::string out = fmt::format("f32 loss {:.4f} (perplexity {:.2f}) over {} tokens\n\n", report.f32_loss,
                                std::exp(report.f32_loss), report.tokens);
  out += "| layer | scheme | Δloss | Δppl % | bytes saved | decode ms/token saved |\n|---|---|---|---|---|---|\n";
  for (const SensitivityRow& row : report.rows)
    out += fmt::format("| {}{} | {} | {:+.5f} | {:+.3f} | {} | {:.4f} |\n", row.layer, row.group ? " (group)" : "",
                       precision_name(row.precision), row.delta_loss, row.delta_ppl_percent, row.bytes_saved,
                       row.decode_ms_saved);
  return out;
}

}  // namespace sieve::compress
