// `sieve import --from F PATH --out DIR`: reads another tool's model into a Sieve model directory
// (docs/conversion.md). One entry per format in import_formats(); the work is in import_<F>.cpp.
#include <memory>

#include "apps/sieve/conversion_formats.h"
#include "apps/sieve/verbs.h"

namespace sieve::apps {
namespace {

const FormatTable<ImportRequest>& import_formats() {
  static const FormatTable<ImportRequest> kFormats({{"gguf", import_gguf}, {"pytorch", import_pytorch}});
  return kFormats;
}

struct ImportArgs {
  std::string format, source, out_dir, config, tokenizer;
};

}  // namespace

void add_import_verb(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "Read another tool's model into a model directory (" + import_formats().names() + ")");
  cmd->add_option("--from", args->format, "The format of PATH: " + import_formats().names())->required();
  cmd->add_option("path", args->source, "The model file to read")->required();
  cmd->add_option("--out", args->out_dir, "The model directory to write")->required();
  cmd->add_option("--config", args->config,
                  "pytorch: the model's Hugging Face LLaMA config.json (default: config.json beside PATH)");
  cmd->add_option("--tokenizer", args->tokenizer,
                  "pytorch: the model's SentencePiece tokenizer.model (default: tokenizer.model beside PATH)");
  cmd->callback([args] {
    import_formats().find("--from", args->format)(
        {.source = args->source, .out_dir = args->out_dir, .config = args->config, .tokenizer = args->tokenizer});
  });
}

}  // namespace sieve::apps
