// `sieve export --model DIR --format F --out PATH`: writes a model directory in another tool's
// format (docs/conversion.md). One entry per format in formats(); the work is in export_<F>.cpp.
#include <memory>

#include "apps/sieve/conversion_formats.h"
#include "apps/sieve/verbs.h"

namespace sieve::apps {
namespace {

const FormatTable<ExportRequest>& formats() {
  static const FormatTable<ExportRequest> kFormats({{"pytorch", export_pytorch}});
  return kFormats;
}

struct ExportArgs {
  std::string model_dir, format, out;
};

}  // namespace

void add_export_verb(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model directory in another tool's format (" + formats().names() + ")");
  cmd->add_option("--model", args->model_dir, "The model directory")->required();
  cmd->add_option("--format", args->format, "The format to write: " + formats().names())->required();
  cmd->add_option("--out", args->out, "The file to write")->required();
  cmd->callback([args] {
    formats().find("--format", args->format)({.model_dir = args->model_dir, .out = args->out});
  });
}

}  // namespace sieve::apps
