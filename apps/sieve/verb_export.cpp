// `sieve export --model DIR --format F --out PATH`: writes a model directory in another tool's
// format (docs/conversion.md). One entry per format in export_formats(); the work is in export_<F>.cpp.
#include <memory>

#include "apps/sieve/conversion_formats.h"
#include "apps/sieve/verbs.h"

namespace sieve::apps {
namespace {

const FormatTable<ExportRequest>& export_formats() {
  static const FormatTable<ExportRequest> kFormats({{"gguf", export_gguf}, {"onnx", export_onnx}, {"pytorch", export_pytorch}});
  return kFormats;
}

struct ExportArgs {
  std::string model_dir, format, out, type;
};

}  // namespace

void add_export_verb(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model directory in another tool's format (" + export_formats().names() + ")");
  cmd->add_option("--model", args->model_dir, "The model directory")->required();
  cmd->add_option("--format", args->format, "The format to write: " + export_formats().names())->required();
  cmd->add_option("--out", args->out, "The file to write (onnx: m.onnx, and m_with_past.onnx beside it)")->required();
  cmd->add_option("--type", args->type, "gguf: the weights' type, f32 (default), f16, q8_0 or q4_0");
  cmd->callback([args] {
    export_formats().find("--format", args->format)({.model_dir = args->model_dir, .out = args->out, .type = args->type});
  });
}

}  // namespace sieve::apps
