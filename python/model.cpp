// sieve.load(model_dir) → sieve.Model: a model directory loaded as `sieve eval` / `sieve
// generate` load it (apps/sieve/inference_model.h: plain or quantized, optional LoRA adapters),
// with its tokenizer; generation (whole or streamed), perplexity and logits. The GIL is released
// while the engine computes; one computation runs on a model at a time.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "apps/sieve/inference_model.h"
#include "apps/sieve/text_generation.h"
#include "python/bindings.h"
#include "python/ids.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"

namespace sieve::python {
namespace {

namespace fs = std::filesystem;

struct Model {
  Model(fs::path dir, std::unique_ptr<nn::LlamaForCausalLM> model, data::Tokenizer tokenizer)
      : dir(std::move(dir)), model(std::move(model)), tokenizer(std::move(tokenizer)) {}
  fs::path dir;
  std::unique_ptr<nn::LlamaForCausalLM> model;
  data::Tokenizer tokenizer;
  std::mutex busy;  // held by the computation running on the model
};

nn::GenerationOptions generation_options(std::int64_t max_new_tokens, float temperature, std::int64_t top_k,
                                         float top_p, std::uint64_t seed) {
  SIEVE_USER_CHECK(max_new_tokens >= 0, "max_new_tokens must be >= 0, got {}", max_new_tokens);
  nn::GenerationOptions options;
  options.max_new_tokens = max_new_tokens;
  options.sampling = {.temperature = temperature, .top_k = top_k, .top_p = top_p, .seed = seed};
  nn::validate(options.sampling);
  return options;
}

std::shared_ptr<Model> load(const fs::path& dir, const std::optional<fs::path>& adapter) {
  SIEVE_USER_CHECK(fs::is_directory(dir), "model directory '{}' does not exist", dir.string());
  apps::InferenceModelFlags flags;
  if (adapter) flags.adapter = adapter->string();
  auto model = apps::load_inference_model(dir, flags);
  return std::make_shared<Model>(dir, std::move(model), data::Tokenizer::load(dir / io::kTokenizerFile));
}

std::string generate(Model& self, const std::string& prompt, const nn::GenerationOptions& options, bool stop_at_eos) {
  std::string text;
  std::lock_guard lock(self.busy);
  apps::generate_text(*self.model, self.tokenizer, prompt, options, stop_at_eos,
                      {.on_text = [&](std::string_view piece) {
                        text += piece;
                        return true;
                      }});
  return text;
}

// Model.stream: generation on a worker thread, its text pieces handed to the iterator through a
// queue. Dropping the iterator stops the worker after its current token.
class GenerationStream {
 public:
  GenerationStream(std::shared_ptr<Model> model, std::string prompt, nn::GenerationOptions options, bool stop_at_eos)
      : model_(std::move(model)) {
    worker_ = std::thread([this, prompt = std::move(prompt), options, stop_at_eos] {
      try {
        std::lock_guard busy(model_->busy);
        apps::generate_text(*model_->model, model_->tokenizer, prompt, options, stop_at_eos,
                            {.on_text = [this](std::string_view piece) {
                              std::lock_guard lock(mutex_);
                              if (!piece.empty()) pieces_.emplace_back(piece);
                              ready_.notify_one();
                              return !cancelled_;
                            }});
      } catch (...) {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      done_ = true;
      ready_.notify_one();
    });
  }
  GenerationStream(const GenerationStream&) = delete;
  GenerationStream& operator=(const GenerationStream&) = delete;
  ~GenerationStream() {
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    py::gil_scoped_release release;
    worker_.join();
  }

  std::string next() {
    std::unique_lock lock(mutex_);
    {
      py::gil_scoped_release release;
      ready_.wait(lock, [this] { return !pieces_.empty() || done_; });
    }
    if (!pieces_.empty()) {
      std::string piece = std::move(pieces_.front());
      pieces_.pop_front();
      return piece;
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    throw py::stop_iteration();
  }

 private:
  std::shared_ptr<Model> model_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> pieces_;
  bool done_ = false;
  bool cancelled_ = false;
  std::exception_ptr error_;
  std::thread worker_;  // last: started once the members it uses exist
};

// Logits [..., T, V] (float32) of ids [..., T] (1-D or 2-D), handed to NumPy without a copy: the
// array's base owns the engine's tensor.
py::array logits(Model& self, const py::handle& ids) {
  const auto array = ids_as_int64(ids, self.model->config().vocab_size);
  SIEVE_USER_CHECK(array.ndim() == 1 || array.ndim() == 2, "ids must be [T] or [B, T], got {} dimensions",
                   array.ndim());
  SIEVE_USER_CHECK(array.size() > 0, "ids must hold at least one token");
  const bool batched = array.ndim() == 2;
  const std::int64_t rows = batched ? array.shape(0) : 1, tokens = array.shape(array.ndim() - 1);
  core::Tensor result;
  {
    py::gil_scoped_release release;
    std::lock_guard lock(self.busy);
    const core::Tensor input =
        core::Tensor::borrow(const_cast<std::int64_t*>(array.data()), {rows, tokens}, core::DType::i64, [] {});
    autograd::NoGradGuard no_grad;
    result = self.model->forward(input).contiguous();
  }
  SIEVE_CHECK(result.dtype() == core::DType::f32, "logits are {}, not f32", core::dtype_name(result.dtype()));
  const std::int64_t vocab = result.size(2);
  std::vector<py::ssize_t> shape = {rows, tokens, vocab};
  if (!batched) shape.erase(shape.begin());
  auto* owner = new core::Tensor(result);
  py::capsule base(owner, [](void* tensor) { delete static_cast<core::Tensor*>(tensor); });
  return py::array_t<float>(shape, result.data<float>(), base);
}

// Perplexity of `text` (BOS, then its pieces) in windows of the model's context, each window
// predicting its tokens from the ones before within it.
double perplexity(Model& self, const std::string& text) {
  std::vector<std::int64_t> ids;
  if (self.tokenizer.bos_id() >= 0) ids.push_back(self.tokenizer.bos_id());
  for (auto id : self.tokenizer.encode(text)) ids.push_back(id);
  SIEVE_USER_CHECK(ids.size() >= 2, "perplexity needs a text of at least one token after BOS");
  py::gil_scoped_release release;
  std::lock_guard lock(self.busy);
  autograd::NoGradGuard no_grad;
  const auto total = static_cast<std::int64_t>(ids.size());
  const std::int64_t context = self.model->config().max_position_embeddings;
  double loss = 0.0;
  for (std::int64_t start = 0; start + 1 < total; start += context) {
    const std::int64_t n = std::min(context, total - 1 - start);
    const std::vector<std::int64_t> inputs(ids.begin() + start, ids.begin() + start + n);
    const std::vector<std::int64_t> targets(ids.begin() + start + 1, ids.begin() + start + n + 1);
    loss +=
        self.model->loss(core::Tensor::from_vector(inputs, {1, n}), core::Tensor::from_vector(targets, {1, n})).item() *
        static_cast<double>(n);
  }
  return std::exp(loss / static_cast<double>(total - 1));
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<GenerationStream>(m, "GenerationStream",
                               "Iterator over the pieces of text of a generation (Model.stream).")
      .def("__iter__", [](GenerationStream& self) -> GenerationStream& { return self; })
      .def("__next__", &GenerationStream::next);

  py::class_<Model, std::shared_ptr<Model>>(m, "Model", "A loaded model directory (sieve.load).")
      .def_property_readonly(
          "path", [](const Model& self) { return self.dir; }, "The model directory.")
      .def_property_readonly(
          "config",
          [](const Model& self) {
            return py::module_::import("json").attr("loads")(io::read_config_json(self.dir / io::kConfigFile).dump());
          },
          "The directory's config.json as a dict.")
      .def_property_readonly(
          "num_parameters", [](const Model& self) { return self.model->parameter_count(); }, "Number of parameters.")
      .def_property_readonly(
          "tokenizer", [](const Model& self) { return data::Tokenizer::load(self.dir / io::kTokenizerFile); },
          "The model's tokenizer (its tokenizer.model).")
      .def(
          "generate",
          [](Model& self, const std::string& prompt, std::int64_t max_new_tokens, float temperature, std::int64_t top_k,
             float top_p, std::uint64_t seed, bool stop_at_eos) {
            const auto options = generation_options(max_new_tokens, temperature, top_k, top_p, seed);
            py::gil_scoped_release release;
            return generate(self, prompt, options, stop_at_eos);
          },
          py::arg("prompt"), py::kw_only(), py::arg("max_new_tokens") = 64, py::arg("temperature") = 1.0f,
          py::arg("top_k") = 0, py::arg("top_p") = 1.0f, py::arg("seed") = 0, py::arg("stop_at_eos") = true,
          "The text generated after `prompt` (as `sieve generate` makes it; temperature 0 is greedy).")
      .def(
          "stream",
          [](const std::shared_ptr<Model>& self, const std::string& prompt, std::int64_t max_new_tokens,
             float temperature, std::int64_t top_k, float top_p, std::uint64_t seed, bool stop_at_eos) {
            return std::make_unique<GenerationStream>(
                self, prompt, generation_options(max_new_tokens, temperature, top_k, top_p, seed), stop_at_eos);
          },
          py::arg("prompt"), py::kw_only(), py::arg("max_new_tokens") = 64, py::arg("temperature") = 1.0f,
          py::arg("top_k") = 0, py::arg("top_p") = 1.0f, py::arg("seed") = 0, py::arg("stop_at_eos") = true,
          "Like generate, as an iterator over the pieces of text as they are made.")
      .def("logits", &logits, py::arg("ids"),
           "Logits (float32 NumPy array [T, V], or [B, T, V] for ids [B, T]) of token ids.")
      .def("perplexity", &perplexity, py::arg("text"), "Perplexity of the model on `text`.")
      .def("__repr__", [](const Model& self) {
        return "<sieve.Model " + self.dir.string() + ", " + std::to_string(self.model->parameter_count()) +
               " parameters>";
      });

  m.def(
      "load",
      [](const fs::path& model_dir, const std::optional<fs::path>& adapter) {
        py::gil_scoped_release release;
        return load(model_dir, adapter);
      },
      py::arg("model_dir"), py::kw_only(), py::arg("adapter") = py::none(),
      "Loads a model directory (config.json, model.safetensors, tokenizer.model; plain or quantized), with the "
      "LoRA adapters of an adapter.safetensors if given.");
}

}  // namespace sieve::python
