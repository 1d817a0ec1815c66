// `sieve export --model DIR --format F --out PATH`: writes a model directory in another tool's
// format (docs/conversion.md). One entry per format in kExporters; the work is in export_<F>.cpp.
#include <map>
#include <memory>

#include "apps/sieve/conversion_formats.h"
#include "apps/sieve/verbs.h"
#include "sieve/core/error.h"

namespace sieve::apps {
namespace {

using Exporter = void (*)(const ExportRequest&);

const std::map<std::string, Exporter>& exporters() {
  static const std::map<std::string, Exporter> kExporters{
      {"pytorch", export_pytorch},
  };
  return kExporters;
}

std::string format_names() {
  std::string names;
  for (const auto& [name, exporter] : exporters()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

struct ExportArgs {
  std::string model_dir, format, out;
};

}  // namespace

void add_export_verb(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model directory in another tool's format (" + format_names() + ")");
  cmd->add_option("--model", args->model_dir, "The model directory")->required();
  cmd->add_option("--format", args->format, "The format to write: " + format_names())->required();
  cmd->add_option("--out", args->out, "The file to write")->required();
  cmd->callback([args] {
    const auto exporter = exporters().find(args->format);
    SIEVE_USER_CHECK(exporter != exporters().end(), "--format must be one of {}, got '{}'", format_names(),
                     args->format);
    exporter->second({.model_dir = args->model_dir, .out = args->out});
  });
}

}  // namespace sieve::apps
