// `sieve import --from F PATH --out DIR`: reads another tool's model into a Sieve model directory
// (docs/conversion.md). One entry per format in kImporters; the work is in import_<F>.cpp.
#include <map>
#include <memory>

#include "apps/sieve/conversion_formats.h"
#include "apps/sieve/verbs.h"
#include "sieve/core/error.h"

namespace sieve::apps {
namespace {

using Importer = void (*)(const ImportRequest&);

const std::map<std::string, Importer>& importers() {
  static const std::map<std::string, Importer> kImporters{
      {"pytorch", import_pytorch},
  };
  return kImporters;
}

std::string format_names() {
  std::string names;
  for (const auto& [name, importer] : importers()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

struct ImportArgs {
  std::string format, source, out_dir, config, tokenizer;
};

}  // namespace

void add_import_verb(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "Read another tool's model into a model directory (" + format_names() + ")");
  cmd->add_option("--from", args->format, "The format of PATH: " + format_names())->required();
  cmd->add_option("path", args->source, "The model file to read")->required();
  cmd->add_option("--out", args->out_dir, "The model directory to write")->required();
  cmd->add_option("--config", args->config,
                  "pytorch: the model's Hugging Face LLaMA config.json (default: config.json beside PATH)");
  cmd->add_option("--tokenizer", args->tokenizer,
                  "pytorch: the model's SentencePiece tokenizer.model (default: tokenizer.model beside PATH)");
  cmd->callback([args] {
    const auto importer = importers().find(args->format);
    SIEVE_USER_CHECK(importer != importers().end(), "--from must be one of {}, got '{}'", format_names(),
                     args->format);
    importer->second(
        {.source = args->source, .out_dir = args->out_dir, .config = args->config, .tokenizer = args->tokenizer});
  });
}

}  // namespace sieve::apps
