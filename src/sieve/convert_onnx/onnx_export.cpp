#include "sieve/convert_onnx/onnx_export.h"

#include <map>

#include "fmt/format.h"
#include "onnx/onnx.pb.h"
#include "sieve/compress/quantized_linear.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/convert_onnx/llama_onnx_graph.h"
#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/io/model_dir.h"

namespace sieve::convert_onnx {
namespace {

namespace fs = std::filesystem;

// Initializers smaller than this stay in the graph even with external data (shape constants).
constexpr std::size_t kExternalMinBytes = 1024;

void check_out(const fs::path& out) {
  SIEVE_USER_CHECK(out.extension() == ".onnx",
                   "--out {} must name an .onnx file (the decoding graph is written "
                   "beside it as {})",
                   out.string(), with_past_path(out).filename().string());
  SIEVE_USER_CHECK(!fs::is_directory(out), "--out {} is a directory; give the graph's file name (model.onnx)",
                   out.string());
  const fs::path folder = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  SIEVE_USER_CHECK(fs::is_directory(folder), "--out {}: the folder {} does not exist", out.string(), folder.string());
}

void check_dense(const nn::LlamaConfig& config, const fs::path& dir) {
  const std::optional<std::int64_t> layer = config.first_non_dense_layer();
  if (!layer) return;
  core::throw_user_error(
      "{}: layer {} runs '{}' attention, which the ONNX export does not carry: the graph would attend "
      "densely (beyond the local window, and without the importance scorer's selection), which is "
      "another model once sequences pass the window or dense_below. Export a dense model (or train one "
      "with --attention dense).",
      (dir / io::kConfigFile).string(), *layer, config.attention.kind(*layer));
}

// A pruned model's layers differ in width; its graph builds every layer with the same widths.
void check_uniform_widths(const nn::LlamaConfig& config, const fs::path& dir) {
  SIEVE_USER_CHECK(!config.pruned(),
                   "{}: a structurally pruned model (its 'pruning' section gives each layer its own head count "
                   "and MLP width) cannot be exported to ONNX: its graph builds every layer with the same widths. Use the model "
                   "directory with sieve eval / generate / serve, or export an unpruned model",
                   (dir / io::kConfigFile).string());
}

struct Int8Count {
  std::int64_t linears = 0, dynamic = 0;  // INT8 Linears; those with per-token activation scales
};

// The INT8 Linears of `model`; INT4 ones are refused.
Int8Count count_int8_linears(const nn::LlamaForCausalLM& model, const fs::path& dir) {
  Int8Count count;
  for (const auto& [name, module] : model.named_modules()) {
    const auto* linear = dynamic_cast<const nn::Linear*>(module.get());
    if (linear == nullptr || linear->weight_format() == nullptr) continue;
    SIEVE_USER_CHECK(dynamic_cast<const compress::Int4LinearFormat*>(linear->weight_format()) == nullptr,
                     "{}: {} is INT4, which ONNX opset 17 cannot hold (its smallest integer type is 8 bits; int4 "
                     "arrived in opset 21, which TensorRT's parser and python3-onnx 1.12 do not read). Export the f32 "
                     "model, or quantize it with --scheme int8.",
                     dir.string(), name);
    const auto* int8 = dynamic_cast<const compress::Int8LinearFormat*>(linear->weight_format());
    SIEVE_CHECK(int8 != nullptr, "{}: a weight format the ONNX export does not know", name);
    ++count.linears;
    count.dynamic += int8->activation().dynamic ? 1 : 0;
  }
  return count;
}

std::uint64_t initializer_bytes(const onnx::ModelProto& model) {
  std::uint64_t bytes = 0;
  for (const onnx::TensorProto& tensor : model.graph().initializer()) bytes += tensor.raw_data().size();
  return bytes;
}

// Where each initializer moved to external data lies in the data file: name → (offset, length).
using Placements = std::map<std::string, std::pair<std::size_t, std::size_t>>;

// Moves `model`'s large initializers to the external data file `location`: with `data`, each is
// appended to it and recorded in `placed`; without, each goes where `placed` says (the second graph
// of an export names the same weights alike).
void externalize(onnx::ModelProto& model, const std::string& location, Placements& placed, std::string* data) {
  for (onnx::TensorProto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (tensor.raw_data().size() < kExternalMinBytes) continue;
    if (data != nullptr) {
      placed.emplace(tensor.name(), std::pair(data->size(), tensor.raw_data().size()));
      *data += tensor.raw_data();
    }
    const auto entry = placed.find(tensor.name());
    SIEVE_CHECK(entry != placed.end() && entry->second.second == tensor.raw_data().size(),
                "initializer {} differs between the graphs", tensor.name());
    std::string().swap(*tensor.mutable_raw_data());  // frees the bytes (clearing would keep their capacity)
    tensor.clear_raw_data();
    tensor.set_data_location(onnx::TensorProto::EXTERNAL);
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"location", location},
                                     {"offset", std::to_string(entry->second.first)},
                                     {"length", std::to_string(entry->second.second)}}) {
      onnx::StringStringEntryProto* field = tensor.add_external_data();
      field->set_key(key);
      field->set_value(value);
    }
  }
}

std::string serialized(const onnx::ModelProto& model, const fs::path& path) {
  std::string bytes;
  SIEVE_CHECK(model.SerializeToString(&bytes), "cannot serialize the ONNX graph of {}", path.string());
  return bytes;
}

}  // namespace

fs::path with_past_path(const fs::path& out) {
  fs::path path = out;
  return path.replace_filename(out.stem().string() + "_with_past.onnx");
}

OnnxExportSummary export_onnx(const fs::path& model_dir, const fs::path& out, const OnnxExportOptions& options) {
  check_out(out);
  SIEVE_USER_CHECK(fs::is_directory(model_dir), "--model: no model directory '{}'", model_dir.string());
  const auto model = compress::is_quantized_model_dir(model_dir) ? compress::load_quantized_model(model_dir)
                                                                 : io::load_model(model_dir);
  check_dense(model->config(), model_dir);
  check_uniform_widths(model->config(), model_dir);

  OnnxExportSummary summary;
  const Int8Count int8 = count_int8_linears(*model, model_dir);
  summary.int8_linears = int8.linears;
  // One graph in memory at a time: the prefill graph decides on external data and writes the data
  // file; the decoding graph points at the same places.
  const fs::path decode_path = with_past_path(out), data_path = fs::path(out.string() + ".data");
  Placements placed;
  {
    onnx::ModelProto prefill;
    build_llama_onnx_model(*model, LlamaOnnxGraphKind::prefill, prefill);
    summary.weight_bytes = initializer_bytes(prefill);
    if (summary.weight_bytes > options.external_data_threshold) {
      std::string data;
      externalize(prefill, data_path.filename().string(), placed, &data);
      core::write_file_atomically(data_path, data);
    }
    core::write_file_atomically(out, serialized(prefill, out));
  }
  {
    onnx::ModelProto decode;
    build_llama_onnx_model(*model, LlamaOnnxGraphKind::with_past, decode);
    if (!placed.empty()) externalize(decode, data_path.filename().string(), placed, nullptr);
    core::write_file_atomically(decode_path, serialized(decode, decode_path));
  }
  summary.files = {out, decode_path};
  if (!placed.empty()) {
    summary.files.push_back(data_path);
    summary.notes.push_back(
        fmt::format("the weights ({:.1f} MB) are in {}, which both graphs reference: keep it beside them",
                    static_cast<double>(summary.weight_bytes) / 1e6, data_path.string()));
  }
  if (int8.dynamic > 0)
    summary.notes.push_back(fmt::format(
        "{} of {} INT8 Linears quantize activations per token at run time, which QDQ cannot express: the graph gives "
        "them int8 weights (QDQ) and f32 activations, so its logits differ from Sieve's INT8 model by that rounding "
        "(quantize with --activations static for QDQ on both operands)",
        int8.dynamic, int8.linears));
  return summary;
}

}  // namespace sieve::convert_onnx
