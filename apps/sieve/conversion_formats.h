// The formats `sieve export` (verb_export.cpp) and `sieve import` (verb_import.cpp) convert to
// and from. Each format is one function per direction in its own file (export_pytorch.cpp,
// import_pytorch.cpp, ...), listed in the verb's table of formats.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "sieve/core/error.h"

namespace sieve::apps {

struct ExportRequest {
  std::filesystem::path model_dir;  // --model: a Sieve model directory
  std::filesystem::path out;        // --out: the file (or directory) to write
  std::string type;                 // --type: the weights' type (empty: the format's default)
};

struct ImportRequest {
  std::filesystem::path source;   // the other tool's model file
  std::filesystem::path out_dir;  // --out: the Sieve model directory to write
  std::string config;             // --config: the model's config (empty: the format's default)
  std::string tokenizer;          // --tokenizer: a SentencePiece tokenizer.model (empty: the format's default)
};

// A verb's formats by name, each with the function that converts it.
template <typename Request>
class FormatTable {
 public:
  using Converter = void (*)(const Request&);
  explicit FormatTable(std::map<std::string, Converter> formats) : formats_(std::move(formats)) {}

  // "a, b, c": for help texts and errors.
  std::string names() const {
    std::string names;
    for (const auto& [name, converter] : formats_) names += (names.empty() ? "" : ", ") + name;
    return names;
  }
  // The converter of `format`; a UserError naming `flag` and the known formats otherwise.
  Converter find(const char* flag, const std::string& format) const {
    const auto found = formats_.find(format);
    SIEVE_USER_CHECK(found != formats_.end(), "{} must be one of {}, got '{}'", flag, names(), format);
    return found->second;
  }

 private:
  std::map<std::string, Converter> formats_;
};

// PyTorch state dicts (pytorch_model.bin / .pt; docs/conversion.md).
void export_pytorch(const ExportRequest& request);
void import_pytorch(const ImportRequest& request);

// GGUF files for llama.cpp (--type f32 (default), f16, q8_0 or q4_0; docs/conversion.md).
void export_gguf(const ExportRequest& request);
void import_gguf(const ImportRequest& request);

// ONNX opset-17 graphs for ONNX Runtime / TensorRT: prefill and KV-cached decoding (docs/conversion.md).
void export_onnx(const ExportRequest& request);

}  // namespace sieve::apps
