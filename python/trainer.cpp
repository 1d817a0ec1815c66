// sieve.MixedPrecisionTrainer: train::MixedPrecisionTrainer (train/mixed_precision_trainer.h),
// the engine `sieve train --model-path` runs, with its options as keyword arguments:
//
//   MixedPrecisionTrainer(model_path, precision_mode="auto", gradient_accumulation_steps=8,
//                         loss_scale_window=1024).train(dataset="wikitext-103", epochs=10)
//
// Progress goes to stderr and the summary to stdout as in the CLI. Ctrl-C stops training at the
// next step with a checkpoint and the model saved, then raises KeyboardInterrupt.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdio>

#include "apps/sieve/train_summary.h"
#include "python/bindings.h"
#include "python/interrupt.h"
#include "sieve/train/mixed_precision_trainer.h"

namespace sieve::python {
namespace {

namespace fs = std::filesystem;
using train::MixedPrecisionTrainer;
using train::MixedPrecisionTrainerOptions;
using train::MixedPrecisionTrainResult;

std::unique_ptr<MixedPrecisionTrainer> make_trainer(
    const fs::path& model_path, const std::string& precision_mode, std::int64_t gradient_accumulation_steps,
    std::int64_t loss_scale_window, const std::optional<fs::path>& output_dir, std::int64_t batch, std::int64_t context,
    float learning_rate, float min_learning_rate, std::int64_t warmup_steps, float weight_decay, double clip_grad_norm,
    const std::optional<fs::path>& data_dir, std::uint64_t seed, bool resume, std::int64_t checkpoint_interval,
    int keep_checkpoints, std::int64_t eval_interval, std::int64_t eval_windows, std::int64_t log_interval,
    double max_seconds, std::optional<bool> loss_scaling, bool activation_checkpointing, std::uint64_t init_seed) {
  train::check_precision_mode(precision_mode);  // before the model loads
  SIEVE_USER_CHECK(gradient_accumulation_steps > 0, "gradient_accumulation_steps must be > 0, got {}",
                   gradient_accumulation_steps);
  SIEVE_USER_CHECK(loss_scale_window > 0, "loss_scale_window must be > 0, got {}", loss_scale_window);
  SIEVE_USER_CHECK(fs::is_directory(model_path), "model directory '{}' does not exist", model_path.string());
  MixedPrecisionTrainerOptions options{.model_path = model_path,
                                       .precision_mode = precision_mode,
                                       .gradient_accumulation_steps = gradient_accumulation_steps,
                                       .loss_scale_window = loss_scale_window};
  if (output_dir) options.output_dir = *output_dir;
  options.batch = batch;
  options.context = context;
  options.learning_rate = learning_rate;
  options.min_learning_rate = min_learning_rate;
  options.warmup_steps = warmup_steps;
  options.adamw.weight_decay = weight_decay;
  options.clip_grad_norm = clip_grad_norm;
  if (data_dir) options.data_dir = *data_dir;
  options.seed = seed;
  options.resume = resume;
  options.checkpoint_interval = checkpoint_interval;
  options.keep_checkpoints = keep_checkpoints;
  options.eval_interval = eval_interval;
  options.eval_windows = eval_windows;
  options.log_interval = log_interval;
  options.max_seconds = max_seconds;
  options.loss_scaling = loss_scaling;
  options.activation_checkpointing = activation_checkpointing;
  options.init_seed = init_seed;
  py::gil_scoped_release release;
  return std::make_unique<MixedPrecisionTrainer>(std::move(options));
}

MixedPrecisionTrainResult run_training(MixedPrecisionTrainer& trainer, const std::string& dataset, double epochs,
                                       std::int64_t steps, const std::vector<std::string>& more_datasets,
                                       std::int64_t max_documents, std::int64_t max_bytes, double val_fraction) {
  SIEVE_USER_CHECK(epochs > 0, "epochs must be > 0, got {}", epochs);
  SIEVE_USER_CHECK(steps >= 0, "steps must be >= 0 (0: use epochs), got {}", steps);
  train::TrainRequest request{.dataset = dataset,
                              .epochs = epochs,
                              .steps = steps,
                              .more_datasets = more_datasets,
                              .max_documents = max_documents,
                              .max_bytes = max_bytes,
                              .val_fraction = val_fraction};
  MixedPrecisionTrainResult result;
  bool interrupted = false;
  {
    InterruptScope interrupt;
    request.stop = interrupt.flag();
    py::gil_scoped_release release;
    result = trainer.train(request);
    apps::print_train_summary(result);
    interrupted = interrupt.interrupted();
  }
  if (interrupted) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  return result;
}

}  // namespace

void bind_trainer(py::module_& m) {
  py::class_<MixedPrecisionTrainResult>(m, "TrainResult", "What MixedPrecisionTrainer.train did.")
      .def_property_readonly(
          "precision",
          [](const MixedPrecisionTrainResult& r) {
            return std::string(ops::precision_name(r.precision.policy.compute));
          },
          "The compute precision the run used (fp32, bf16, fp16, tf32).")
      .def_readonly("loss_scaling", &MixedPrecisionTrainResult::loss_scaling, "Whether dynamic loss scaling was on.")
      .def_readonly("steps", &MixedPrecisionTrainResult::steps, "The run's planned optimizer steps.")
      .def_readonly("tokens_per_step", &MixedPrecisionTrainResult::tokens_per_step)
      .def_readonly("train_tokens", &MixedPrecisionTrainResult::train_tokens, "Tokens in the train split.")
      .def_readonly("val_tokens", &MixedPrecisionTrainResult::val_tokens, "Tokens in the validation split.")
      .def_readonly("epochs", &MixedPrecisionTrainResult::epochs, "Steps × tokens per step / train tokens.")
      .def_readonly("losses", &MixedPrecisionTrainResult::losses, "Mean train loss of each step this call ran.")
      .def_property_readonly(
          "steps_done", [](const MixedPrecisionTrainResult& r) { return r.run.steps_done; },
          "Steps done in the whole run (across resumes).")
      .def_property_readonly("initial_val_loss",
                             [](const MixedPrecisionTrainResult& r) { return r.run.initial_val_loss; })
      .def_property_readonly("final_val_loss", [](const MixedPrecisionTrainResult& r) { return r.run.final_val_loss; })
      .def_property_readonly("tokens_per_second",
                             [](const MixedPrecisionTrainResult& r) { return r.run.tokens_per_second; })
      .def_property_readonly(
          "interrupted", [](const MixedPrecisionTrainResult& r) { return r.run.interrupted; },
          "Stopped early (time limit).")
      .def_readonly("model_dir", &MixedPrecisionTrainResult::model_dir, "Where the trained model was saved.");

  py::class_<MixedPrecisionTrainer>(
      m, "MixedPrecisionTrainer",
      "Trains a model directory (config.json and tokenizer.model; model.safetensors if present, else initialised) "
      "with automatic or fixed mixed precision, gradient accumulation, dynamic loss scaling and atomic checkpoints. "
      "The input directory is never written: everything goes to output_dir (default: MODEL_PATH-trained).")
      .def(py::init(&make_trainer), py::arg("model_path"), py::arg("precision_mode") = "auto",
           py::arg("gradient_accumulation_steps") = 1, py::arg("loss_scale_window") = 1000, py::kw_only(),
           py::arg("output_dir") = py::none(), py::arg("batch") = 8, py::arg("context") = 0,
           py::arg("learning_rate") = 1e-3f, py::arg("min_learning_rate") = 1e-4f, py::arg("warmup_steps") = -1,
           py::arg("weight_decay") = 0.1f, py::arg("clip_grad_norm") = 1.0, py::arg("data_dir") = py::none(),
           py::arg("seed") = 0, py::arg("resume") = false, py::arg("checkpoint_interval") = 0,
           py::arg("keep_checkpoints") = 3, py::arg("eval_interval") = 0, py::arg("eval_windows") = 64,
           py::arg("log_interval") = 10, py::arg("max_seconds") = 0.0, py::arg("loss_scaling") = py::none(),
           py::arg("activation_checkpointing") = false, py::arg("init_seed") = 0,
           "Loads the model directory and decides the precision (fp32, bf16, fp16, tf32, or auto: measured here).")
      .def("train", &run_training, py::arg("dataset"), py::kw_only(), py::arg("epochs") = 1.0, py::arg("steps") = 0,
           py::arg("more_datasets") = std::vector<std::string>{}, py::arg("max_documents") = 0,
           py::arg("max_bytes") = 0, py::arg("val_fraction") = 0.01,
           "Trains on a dataset (gcide, foldoc, wikitext-103, wikitext-2, or a text / .raw / .dict.dz file) for "
           "`epochs` passes or exactly `steps` optimizer steps, and saves the model to output_dir. Calling it "
           "again trains the same model further.")
      .def_property_readonly("output_dir", &MixedPrecisionTrainer::output_dir, "The run directory.")
      .def_property_readonly(
          "precision",
          [](const MixedPrecisionTrainer& t) { return std::string(ops::precision_name(t.precision().policy.compute)); },
          "The compute precision chosen.")
      .def_property_readonly("num_parameters",
                             [](const MixedPrecisionTrainer& t) { return t.model().parameter_count(); });
}

}  // namespace sieve::python
