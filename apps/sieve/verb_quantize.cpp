// `sieve quantize`: post-training quantization of a model directory into a quantized one
// (docs/compression.md): INT8 or INT4 for every projection, or a per-layer plan from a file.
#include <cstdio>
#include <filesystem>

#include "apps/sieve/bench_common.h"
#include "apps/sieve/verbs.h"
#include "sieve/compress/calibration.h"
#include "sieve/compress/calibration_data.h"
#include "sieve/compress/quantization_config.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"

namespace sieve::apps {
namespace {

namespace fs = std::filesystem;

struct QuantizeArgs {
  std::string model_dir;
  std::string out_dir;
  std::string scheme;
  std::string plan_file;  // --plan: a quantization section as JSON (scheme mixed)
  std::int64_t group_size = compress::kDefaultInt4GroupSize;
  std::string scale_dtype = "f16";
  std::string activations = "dynamic";
  std::string calibration;  // corpus for static activation scales
  std::int64_t calibration_windows = 32;
  std::int64_t calibration_context = 0;  // 0: the model's context
  bool analyze = false;
  double max_ppl_increase = 0.0;
};

compress::QuantizationPlan make_plan(const QuantizeArgs& args, const nn::LlamaForCausalLM& model) {
  SIEVE_USER_CHECK(!args.analyze && args.max_ppl_increase == 0.0,
                   "--analyze and --max-ppl-increase (the per-layer sensitivity analysis) are not implemented yet; "
                   "give --scheme int8|int4, or --scheme mixed --plan FILE with the per-layer choices");
  compress::QuantizationPlan plan;
  if (args.scheme == "mixed") {
    SIEVE_USER_CHECK(!args.plan_file.empty(), "--scheme mixed needs --plan FILE (per-layer precisions, JSON)");
    plan = compress::parse_quantization_section(io::read_config_json(args.plan_file), args.plan_file);
    SIEVE_USER_CHECK(plan.scheme == "mixed", "{}: scheme '{}', but --scheme is mixed", args.plan_file, plan.scheme);
  } else {
    SIEVE_USER_CHECK(args.plan_file.empty(), "--plan goes with --scheme mixed");
    const auto precision = compress::precision_from_name(args.scheme);
    SIEVE_USER_CHECK(precision && *precision != compress::Precision::f32,
                     "--scheme must be int8, int4 or mixed, got '{}'", args.scheme);
    plan = compress::uniform_plan(model, *precision);
    plan.group_size = args.group_size;
    SIEVE_USER_CHECK(args.scale_dtype == "f16" || args.scale_dtype == "f32", "--scale-dtype must be f16 or f32, got '{}'",
                     args.scale_dtype);
    plan.int4_scale_dtype = args.scale_dtype == "f16" ? core::DType::f16 : core::DType::f32;
    const auto activations = compress::activation_mode_from_name(args.activations);
    SIEVE_USER_CHECK(activations.has_value(), "--activations must be dynamic or static, got '{}'", args.activations);
    plan.activations = *activations;
  }
  compress::validate_plan(plan, model, args.plan_file.empty() ? "the command line" : args.plan_file);
  return plan;
}

void run_quantize(const QuantizeArgs& args) {
  const fs::path source(args.model_dir), out(args.out_dir);
  SIEVE_USER_CHECK(fs::weakly_canonical(source) != fs::weakly_canonical(out),
                   "--out must be another directory than --model (the f32 model stays as it is)");
  auto model = io::load_model(source);
  model->set_training(false);
  const compress::QuantizationPlan plan = make_plan(args, *model);
  const std::vector<std::string> int8_layers = compress::int8_layers(plan);
  const bool calibrate = plan.activations == compress::ActivationMode::calibrated && !int8_layers.empty();
  SIEVE_USER_CHECK(!calibrate || !args.calibration.empty(),
                   "static activations need --calibration CORPUS (e.g. gcide, or a text file)");
  SIEVE_USER_CHECK(calibrate || args.calibration.empty(), "--calibration goes with --activations static (INT8 layers)");
  const auto start = BenchClock::now();
  std::map<std::string, float> ranges;
  if (calibrate) {
    const auto tokenizer = data::Tokenizer::load(source / io::kTokenizerFile);
    compress::CalibrationDataOptions options;
    options.windows = args.calibration_windows;
    options.context = args.calibration_context > 0 ? args.calibration_context : model->config().max_position_embeddings;
    SIEVE_USER_CHECK(options.context <= model->config().max_position_embeddings,
                     "--calibration-context {} exceeds the model's max_position_embeddings ({})", options.context,
                     model->config().max_position_embeddings);
    const auto batches = compress::read_calibration_batches(args.calibration, tokenizer, options);
    ranges = compress::calibrate_input_ranges(*model, int8_layers, batches);
    std::int64_t windows = 0;
    for (const core::Tensor& batch : batches) windows += batch.size(0);
    std::fprintf(stderr, "calibrated %zu INT8 layers on %lld windows of %lld tokens of %s\n", int8_layers.size(),
                 static_cast<long long>(windows), static_cast<long long>(options.context), args.calibration.c_str());
  }
  compress::quantize_model(*model, plan, calibrate ? &ranges : nullptr);
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

}  // namespace

void add_quantize_verb(CLI::App& app) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand("quantize", "Write a quantized copy (INT8 / INT4) of a model directory");
  cmd->add_option("--model", args->model_dir, "The f32 model directory")->required();
  cmd->add_option("--out", args->out_dir, "Directory for the quantized model")->required();
  cmd->add_option("--scheme", args->scheme,
                  "int8 (weights and activations), int4 (weights only), or mixed (per-layer choices from --plan)")
      ->required();
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
                  "With --activations static: corpus for the scales (gcide, foldoc, or a file; its training split)");
  cmd->add_option("--calibration-windows", args->calibration_windows, "Windows of the corpus to calibrate on")
      ->capture_default_str();
  cmd->add_option("--calibration-context", args->calibration_context, "Tokens a window (default: the model's context)");
  cmd->add_flag("--analyze", args->analyze, "Per-layer sensitivity analysis (not implemented yet)");
  cmd->add_option("--max-ppl-increase", args->max_ppl_increase,
                  "With --scheme mixed: pick per layer by measured sensitivity (not implemented yet)");
  cmd->callback([args] { run_quantize(*args); });
}

}  // namespace sieve::apps
