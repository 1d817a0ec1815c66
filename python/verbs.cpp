// sieve.finetune, sieve.quantize and sieve.export: the CLI verbs' functions (apps/sieve/
// finetune.h, quantize.h, conversion_formats.h) with their flags as keyword arguments and the
// CLI's defaults. Each prints what the verb prints.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdio>

#include "apps/sieve/conversion_formats.h"
#include "apps/sieve/finetune.h"
#include "apps/sieve/new_model.h"
#include "apps/sieve/quantize.h"
#include "python/bindings.h"
#include "python/interrupt.h"
#include "sieve/io/model_dir.h"

namespace sieve::python {
namespace {

namespace fs = std::filesystem;

// `sieve train --out DIR --steps 0`: a new model directory with seeded, untrained weights.
void create_model(const fs::path& out_dir, const std::vector<std::string>& dataset, const std::string& preset,
                  const std::optional<fs::path>& config, const std::optional<fs::path>& tokenizer,
                  const std::optional<fs::path>& data_dir, std::uint64_t seed) {
  apps::NewModelRequest request{.out_dir = out_dir,
                                .datasets = dataset,
                                .data_dir = data_dir.value_or(fs::path()),
                                .tokenizer = tokenizer ? tokenizer->string() : std::string(),
                                .preset = preset,
                                .config_file = config ? config->string() : std::string()};
  py::gil_scoped_release release;
  const nn::LlamaForCausalLM model(apps::write_new_model(request), seed);
  io::save_model(model, out_dir);
}

// `sieve export`'s formats but ONNX, which needs protobuf (NOTE [No protobuf in the Python module]
// in python/CMakeLists.txt); the conversions are the CLI's functions.
void export_model(const fs::path& model_dir, const std::string& format, const fs::path& out, const std::string& type) {
  static const apps::FormatTable<apps::ExportRequest> kFormats(
      {{"gguf", apps::export_gguf}, {"pytorch", apps::export_pytorch}});
  SIEVE_USER_CHECK(format != "onnx",
                   "ONNX export is not in the module (it needs protobuf, which cannot be linked into it); "
                   "sieve.export runs: sieve export --model {} --format onnx --out {}",
                   model_dir.string(), out.string());
  const auto convert = kFormats.find("--format", format);
  SIEVE_USER_CHECK(fs::is_directory(model_dir), "model directory '{}' does not exist", model_dir.string());
  py::gil_scoped_release release;
  convert({.model_dir = model_dir, .out = out, .type = type});
  std::fflush(stdout);
}

void finetune(const fs::path& model_dir, const std::vector<std::string>& dataset, const fs::path& out_dir, bool lora,
              std::int64_t lora_rank, double lora_alpha, float lora_dropout, const std::string& lora_targets,
              bool merge, const std::optional<std::string>& qat, std::int64_t steps, std::int64_t batch,
              std::int64_t gradient_accumulation_steps, std::int64_t context, float learning_rate,
              float min_learning_rate, std::int64_t warmup_steps, const std::string& precision_mode, std::uint64_t seed,
              bool resume, std::int64_t max_documents, std::int64_t max_bytes, std::int64_t eval_windows,
              std::int64_t log_interval) {
  apps::FinetuneRequest request;
  request.model_dir = model_dir.string();
  request.out_dir = out_dir.string();
  request.run.dataset.datasets = dataset;
  request.run.dataset.max_documents = max_documents;
  request.run.dataset.max_bytes = max_bytes;
  request.lora = lora;
  request.lora_options.rank = lora_rank;
  request.lora_options.alpha = lora_alpha;
  request.lora_options.dropout = lora_dropout;
  request.lora_options.targets = lora_targets;
  request.merge = merge;
  if (qat) {
    SIEVE_USER_CHECK(*qat == "int8" || *qat == "int4", "qat must be 'int8' or 'int4', got '{}'", *qat);
    request.qat = *qat;
  }
  SIEVE_USER_CHECK(gradient_accumulation_steps > 0, "gradient_accumulation_steps must be > 0, got {}",
                   gradient_accumulation_steps);
  request.run.trainer.steps = steps;
  request.run.trainer.batch = batch;
  request.run.trainer.gradient_accumulation_steps = gradient_accumulation_steps;
  request.run.trainer.context = context;
  request.run.trainer.seed = seed;
  request.run.trainer.resume = resume;
  request.run.trainer.eval_windows = eval_windows;
  request.run.trainer.log_interval = log_interval;
  request.run.lr = learning_rate;
  request.run.min_lr = min_learning_rate;
  request.run.warmup = warmup_steps;
  request.run.precision = precision_mode;
  SIEVE_USER_CHECK(fs::is_directory(model_dir), "model directory '{}' does not exist", model_dir.string());
  bool interrupted = false;
  {
    InterruptScope interrupt;
    py::gil_scoped_release release;
    apps::run_finetune(std::move(request), interrupt.flag());
    std::fflush(stdout);
    interrupted = interrupt.interrupted();
  }
  if (interrupted) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
}

}  // namespace

void bind_verbs(py::module_& m) {
  m.def("create_model", &create_model, py::arg("out_dir"), py::arg("dataset") = std::vector<std::string>{},
        py::kw_only(), py::arg("preset") = "demo", py::arg("config") = py::none(), py::arg("tokenizer") = py::none(),
        py::arg("data_dir") = py::none(), py::arg("seed") = 0,
        "`sieve train --out OUT_DIR --steps 0`: a new model directory — config.json from a preset (tiny, demo, "
        "lm-17m, lm-100m) or a config file, tokenizer.model trained on the datasets (or copied from `tokenizer`), "
        "and weights initialised from `seed` — for MixedPrecisionTrainer to train.");
  m.def("finetune", &finetune, py::arg("model_dir"), py::arg("dataset"), py::arg("out_dir"), py::kw_only(),
        py::arg("lora") = false, py::arg("lora_rank") = 8, py::arg("lora_alpha") = 16.0, py::arg("lora_dropout") = 0.0f,
        py::arg("lora_targets") = "attn", py::arg("merge") = false, py::arg("qat") = py::none(), py::arg("steps") = 200,
        py::arg("batch") = 8, py::arg("gradient_accumulation_steps") = 1, py::arg("context") = 0,
        py::arg("learning_rate") = 1e-3f, py::arg("min_learning_rate") = 1e-4f, py::arg("warmup_steps") = 10,
        py::arg("precision_mode") = "fp32", py::arg("seed") = 0, py::arg("resume") = false,
        py::arg("max_documents") = 0, py::arg("max_bytes") = 0, py::arg("eval_windows") = 32,
        py::arg("log_interval") = 10,
        "`sieve finetune`: fine-tunes model_dir on the datasets into out_dir — every weight, or LoRA adapters on "
        "the frozen base (out_dir/adapter.safetensors; merge also writes out_dir/merged). Ctrl-C stops with a "
        "checkpoint, saves, and raises KeyboardInterrupt.");

  m.def(
      "quantize",
      [](const fs::path& model_dir, const fs::path& out_dir, const std::string& scheme,
         const std::optional<fs::path>& plan, std::int64_t group_size, const std::string& scale_dtype,
         const std::string& activations, const std::optional<std::string>& calibration,
         std::int64_t calibration_windows, std::int64_t calibration_context, bool analyze, double max_ppl_increase) {
        apps::QuantizeRequest request{.model_dir = model_dir.string(),
                                      .out_dir = out_dir.string(),
                                      .scheme = scheme,
                                      .plan_file = plan ? plan->string() : std::string(),
                                      .group_size = group_size,
                                      .scale_dtype = scale_dtype,
                                      .activations = activations,
                                      .calibration = calibration.value_or(""),
                                      .calibration_windows = calibration_windows,
                                      .calibration_context = calibration_context,
                                      .analyze = analyze,
                                      .max_ppl_increase = max_ppl_increase};
        SIEVE_USER_CHECK(fs::is_directory(model_dir), "model directory '{}' does not exist", model_dir.string());
        py::gil_scoped_release release;
        apps::run_quantize(request);
        std::fflush(stdout);
      },
      py::arg("model_dir"), py::arg("out_dir"), py::kw_only(), py::arg("scheme") = "", py::arg("plan") = py::none(),
      py::arg("group_size") = compress::kDefaultInt4GroupSize, py::arg("scale_dtype") = "f16",
      py::arg("activations") = "dynamic", py::arg("calibration") = py::none(), py::arg("calibration_windows") = 32,
      py::arg("calibration_context") = 0, py::arg("analyze") = false, py::arg("max_ppl_increase") = 0.0,
      "`sieve quantize`: writes a quantized copy of model_dir (scheme int8, int4, or mixed with a plan file or "
      "max_ppl_increase) to out_dir; sieve.load loads it.");

  m.def("export", &export_model, py::arg("model_dir"), py::arg("format"), py::arg("out"), py::kw_only(),
        py::arg("type") = "",
        "`sieve export`: writes model_dir in another tool's format, gguf or pytorch (sieve.export runs the CLI for onnx); type is "
        "gguf's weight type (f32, f16, q8_0, q4_0).");
}

}  // namespace sieve::python
