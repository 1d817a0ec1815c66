// The formats `sieve export` (verb_export.cpp) and `sieve import` (verb_import.cpp) convert to
// and from. Each format is one function per direction in its own file (export_pytorch.cpp,
// import_pytorch.cpp, ...), listed in the verb's table of formats.
#pragma once

#include <filesystem>
#include <string>

namespace sieve::apps {

struct ExportRequest {
  std::filesystem::path model_dir;  // --model: a Sieve model directory
  std::filesystem::path out;        // --out: the file (or directory) to write
};

struct ImportRequest {
  std::filesystem::path source;   // the other tool's model file
  std::filesystem::path out_dir;  // --out: the Sieve model directory to write
  std::string config;             // --config: the model's config (empty: the format's default)
  std::string tokenizer;          // --tokenizer: a SentencePiece tokenizer.model (empty: the format's default)
};

// PyTorch state dicts (pytorch_model.bin / .pt; docs/conversion.md).
void export_pytorch(const ExportRequest& request);
void import_pytorch(const ImportRequest& request);

}  // namespace sieve::apps
