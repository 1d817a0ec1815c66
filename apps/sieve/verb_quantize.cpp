// `sieve quantize`: post-training quantization of a model directory into a quantized one
// (docs/compression.md): INT8 or INT4 for every projection, a per-layer plan from a file, or a
// plan searched for a perplexity budget (--max-ppl-increase) from the per-layer sensitivity
// analysis (--analyze alone writes only the analysis).
#include <cstdio>
#include <filesystem>

#include "apps/sieve/bench_common.h"
#include "apps/sieve/quantize.h"
#include "apps/sieve/verbs.h"
#include "sieve/compress/calibration.h"
#include "sieve/compress/calibration_data.h"
#include "sieve/compress/mixed_plan_search.h"
#include "sieve/compress/quantization_config.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/compress/sensitivity.h"
#include "sieve/core/atomic_file.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

// Group size, scale dtype and activations from the flags.
compress::QuantizationPlan plan_settings(const QuantizeRequest& args) {
  compress::QuantizationPlan plan;
  plan.group_size = args.group_size;
  SIEVE_USER_CHECK(args.scale_dtype == "f16" || args.scale_dtype == "f32", "--scale-dtype must be f16 or f32, got '{}'",
                   args.scale_dtype);
  plan.int4_scale_dtype = args.scale_dtype == "f16" ? core::DType::f16 : core::DType::f32;
  const auto activations = compress::activation_mode_from_name(args.activations);
  SIEVE_USER_CHECK(activations.has_value(), "--activations must be dynamic or static, got '{}'", args.activations);
  plan.activations = *activations;
  return plan;
}

// The plan of --scheme int8|int4, or of --scheme mixed --plan FILE.
compress::QuantizationPlan make_plan(const QuantizeRequest& args, const nn::LlamaForCausalLM& model) {
  compress::QuantizationPlan plan;
  if (args.scheme == "mixed") {
    SIEVE_USER_CHECK(!args.plan_file.empty(),
                     "--scheme mixed needs --plan FILE (per-layer precisions, JSON) or --max-ppl-increase P");
    plan = compress::parse_quantization_section(io::read_config_json(args.plan_file), args.plan_file);
    SIEVE_USER_CHECK(plan.scheme == "mixed", "{}: scheme '{}', but --scheme is mixed", args.plan_file, plan.scheme);
  } else {
    SIEVE_USER_CHECK(args.plan_file.empty(), "--plan goes with --scheme mixed");
    const auto precision = compress::precision_from_name(args.scheme);
    SIEVE_USER_CHECK(precision && *precision != compress::Precision::f32,
                     "--scheme must be int8, int4 or mixed, got '{}'", args.scheme);
    const compress::QuantizationPlan settings = plan_settings(args);
    plan = compress::uniform_plan(model, *precision);
    plan.group_size = settings.group_size;
    plan.int4_scale_dtype = settings.int4_scale_dtype;
    plan.activations = settings.activations;
  }
  compress::validate_plan(plan, model, args.plan_file.empty() ? "the command line" : args.plan_file);
  return plan;
}

std::vector<core::Tensor> read_batches(const QuantizeRequest& args, const nn::LlamaForCausalLM& model) {
  const auto tokenizer = data::Tokenizer::load(fs::path(args.model_dir) / io::kTokenizerFile);
  compress::CalibrationDataOptions options;
  options.windows = args.calibration_windows;
  options.context = args.calibration_context > 0 ? args.calibration_context : model.config().max_position_embeddings;
  SIEVE_USER_CHECK(options.context <= model.config().max_position_embeddings,
                   "--calibration-context {} exceeds the model's max_position_embeddings ({})", options.context,
                   model.config().max_position_embeddings);
  return compress::read_calibration_batches(args.calibration, tokenizer, options);
}

std::map<std::string, float> calibrate(const QuantizeRequest& args, nn::LlamaForCausalLM& model,
                                       const std::vector<std::string>& layers, const std::vector<core::Tensor>& batches) {
  auto ranges = compress::calibrate_input_ranges(model, layers, batches);
  std::int64_t windows = 0;
  for (const core::Tensor& batch : batches) windows += batch.size(0);
  std::fprintf(stderr, "calibrated %zu INT8 layers on %lld windows of %lld tokens of %s\n", layers.size(),
               static_cast<long long>(windows), static_cast<long long>(batches.front().size(1)),
               args.calibration.c_str());
  return ranges;
}

void write_text(const fs::path& path, const std::string& text) {
  core::write_file_atomically(path, text);
}

// --analyze, and --scheme mixed --max-ppl-increase: the sensitivity table (printed, and saved
// as OUT/sensitivity.json and OUT/sensitivity.md), then for the latter the searched plan.
compress::QuantizationPlan analyze(const QuantizeRequest& args, nn::LlamaForCausalLM& model,
                                   const std::vector<core::Tensor>& batches, const std::map<std::string, float>* ranges) {
  const fs::path out(args.out_dir);
  const compress::QuantizationPlan settings = plan_settings(args);
  const compress::SensitivityReport report =
      compress::analyze_sensitivity(model, batches, settings, ranges, [](const compress::SensitivityRow& row) {
        std::fprintf(stderr, "  %-40s %s  dloss %+.5f\n", row.layer.c_str(),
                     std::string(compress::precision_name(row.precision)).c_str(), row.delta_loss);
      });
  fs::create_directories(out);
  write_text(out / "sensitivity.json", compress::sensitivity_json(report).dump(2) + "\n");
  const std::string table = compress::sensitivity_markdown(report);
  write_text(out / "sensitivity.md", table);
  std::printf("%s\nsensitivity saved to %s and %s\n", table.c_str(), (out / "sensitivity.json").c_str(),
              (out / "sensitivity.md").c_str());
  if (args.max_ppl_increase <= 0.0) return {};

  const compress::MixedPlanResult result =
      compress::search_mixed_plan(model, batches, report, args.max_ppl_increase, ranges);
  std::map<compress::Precision, int> counts;
  for (const auto& [layer, precision] : result.plan.layers) ++counts[precision];
  std::printf("mixed plan for --max-ppl-increase %g%%: %d int4, %d int8 layers, the rest f32; quantizable weights "
              "%.2f MB -> %.2f MB; loss change predicted %+.5f (sum of the layers'), measured %+.5f for the whole "
              "plan = perplexity %+.3f%% (%d plans measured)\n",
              args.max_ppl_increase, counts[compress::Precision::int4], counts[compress::Precision::int8],
              static_cast<double>(result.f32_bytes) / 1e6, static_cast<double>(result.plan_bytes) / 1e6,
              result.predicted_delta_loss, result.measured_delta_loss, result.measured_ppl_increase_percent,
              result.measurements);
  SIEVE_USER_CHECK(compress::quantizes_any(result.plan),
                   "no layer can be quantized within --max-ppl-increase {}% on this data (the analysis is in {})",
                   args.max_ppl_increase, out.string());
  nlohmann::json summary = compress::quantization_section(result.plan);
  summary["max_ppl_increase_percent"] = result.max_ppl_increase_percent;
  summary["predicted_delta_loss"] = result.predicted_delta_loss;
  summary["measured_delta_loss"] = result.measured_delta_loss;
  summary["measured_ppl_increase_percent"] = result.measured_ppl_increase_percent;
  summary["f32_bytes"] = result.f32_bytes;
  summary["plan_bytes"] = result.plan_bytes;
  write_text(out / "mixed_plan.json", summary.dump(2) + "\n");
  return result.plan;
}

}  // namespace

void run_quantize(const QuantizeRequest& args) {
  const fs::path source(args.model_dir), out(args.out_dir);
  SIEVE_USER_CHECK(fs::weakly_canonical(source) != fs::weakly_canonical(out),
                   "--out must be another directory than --model (the f32 model stays as it is)");
  const bool search = args.max_ppl_increase > 0.0;
  SIEVE_USER_CHECK(!search || (args.scheme == "mixed" && args.plan_file.empty()),
                   "--max-ppl-increase goes with --scheme mixed (and no --plan): it searches the per-layer plan");
  SIEVE_USER_CHECK(args.analyze || !args.scheme.empty(), "give --scheme int8|int4|mixed, or --analyze");
  SIEVE_USER_CHECK(!(args.analyze || search) || !args.calibration.empty(),
                   "the sensitivity analysis measures the loss on --calibration CORPUS (e.g. gcide, or a text file)");
  auto model = io::load_model(source);
  model->set_training(false);
  const auto start = BenchClock::now();
  const bool analysis = args.analyze || search;
  std::vector<core::Tensor> batches;
  std::map<std::string, float> ranges;
  compress::QuantizationPlan plan;
  if (analysis) {
    batches = read_batches(args, *model);
    if (plan_settings(args).activations == compress::ActivationMode::calibrated)
      ranges = calibrate(args, *model, compress::int8_layers(compress::uniform_plan(*model, compress::Precision::int8)),
                         batches);
    plan = analyze(args, *model, batches, ranges.empty() ? nullptr : &ranges);
    if (!search) return;
  } else {
    plan = make_plan(args, *model);
  }
  // The plan decides (a --plan file carries its own activations setting).
  const std::vector<std::string> int8_layers = compress::int8_layers(plan);
  const bool calibrated = plan.activations == compress::ActivationMode::calibrated && !int8_layers.empty();
  SIEVE_USER_CHECK(!calibrated || !args.calibration.empty(),
                   "static activations need --calibration CORPUS (e.g. gcide, or a text file)");
  SIEVE_USER_CHECK(calibrated || analysis || args.calibration.empty(),
                   "--calibration goes with --activations static (INT8 layers) or the sensitivity analysis");
  if (calibrated && ranges.empty()) ranges = calibrate(args, *model, int8_layers, read_batches(args, *model));
  compress::quantize_model(*model, plan, calibrated ? &ranges : nullptr);
  compress::save_quantized_model(*model, out);
  if (fs::exists(source / io::kTokenizerFile))
    fs::copy_file(source / io::kTokenizerFile, out / io::kTokenizerFile, fs::copy_options::overwrite_existing);
  std::size_t quantized = 0;
  for (const auto& [path, precision] : plan.layers) quantized += precision != compress::Precision::f32;
  const auto before = fs::file_size(source / io::kWeightsFile), after = fs::file_size(out / io::kWeightsFile);
  std::printf("quantized %zu Linear layers (%s) of %s into %s in %.1f s: %s %.1f MB -> %.1f MB (%.2fx smaller)\n",
              quantized, plan.scheme.c_str(), args.model_dir.c_str(), args.out_dir.c_str(), ms_since(start) / 1000.0,
              io::kWeightsFile, static_cast<double>(before) / (1 << 20), static_cast<double>(after) / (1 << 20),
              static_cast<double>(before) / static_cast<double>(after));
}

void add_quantize_verb(CLI::App& app) {
  auto args = std::make_shared<QuantizeRequest>();
  CLI::App* cmd = app.add_subcommand("quantize", "Write a quantized copy (INT8 / INT4) of a model directory");
  cmd->add_option("--model", args->model_dir, "The f32 model directory")->required();
  cmd->add_option("--out", args->out_dir,
                  "Directory for the quantized model (and, with the analysis, sensitivity.json / .md)")
      ->required();
  cmd->add_option("--scheme", args->scheme,
                  "int8 (weights and activations), int4 (weights only), or mixed (per-layer choices from --plan, "
                  "or searched with --max-ppl-increase)");
  cmd->add_option("--plan", args->plan_file,
                  "With --scheme mixed: a JSON file in the form of config.json's quantization section "
                  "(docs/compression.md)");
  cmd->add_option("--group-size", args->group_size, "INT4: inputs per scale (32, 64, 96 or 128)")->capture_default_str();
  cmd->add_option("--scale-dtype", args->scale_dtype, "INT4: how the file stores the scales, f16 or f32")
      ->capture_default_str();
  cmd->add_option("--activations", args->activations,
                  "INT8: activations quantized per token at run time (dynamic) or with calibrated scales (static)")
      ->capture_default_str();
  cmd->add_option("--calibration", args->calibration,
                  "Corpus (gcide, foldoc, or a file; its training split) for --activations static scales and for "
                  "the sensitivity analysis's losses");
  cmd->add_option("--calibration-windows", args->calibration_windows, "Windows of the corpus to calibrate on")
      ->capture_default_str();
  cmd->add_option("--calibration-context", args->calibration_context, "Tokens a window (default: the model's context)");
  cmd->add_flag("--analyze", args->analyze,
                "Per-layer sensitivity analysis on --calibration data: each Linear (and group) quantized alone at "
                "int8 and int4, its loss change, bytes and decode time saved; written to OUT");
  cmd->add_option("--max-ppl-increase", args->max_ppl_increase,
                  "With --scheme mixed: per layer the cheapest precision (int4, int8, f32) such that the whole model's "
                  "measured perplexity on --calibration rises at most this many percent");
  cmd->callback([args] { run_quantize(*args); });
}

}  // namespace sieve::apps
