// `sieve import --from gguf`: a llama.cpp `llama` GGUF file as a Sieve model directory
// (config.json, model.safetensors, tokenizer.model). Every tensor is decoded to f32 (f32, f16,
// bf16, q8_0 and q4_0 files; q4_0's nibble 0 has no place in Sieve's INT4 range, so it is not
// mapped onto the INT4 kernels — `sieve quantize` the imported directory for those), the q/k
// rows are put back in Sieve's rotate-half order, and the tokenizer is rebuilt from
// tokenizer.ggml.* (gguf_tokenizer.h says what that can and cannot carry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sieve/convert_gguf/gguf_reader.h"
#include "sieve/core/tensor.h"
#include "sieve/nn/models/llama_config.h"

namespace sieve::convert_gguf {

struct GgufImportSummary {
  nn::LlamaConfig config;
  std::map<std::string, std::int64_t> tensors_by_type;  // as stored in the file
};

// What a GGUF llama file holds, in Sieve's terms.
struct ImportedModel {
  nn::LlamaConfig config;
  std::vector<std::pair<std::string, core::Tensor>> tensors;  // Sieve names, f32, HF row order
  std::string tokenizer_model;                                // a serialized SentencePiece model
  std::map<std::string, std::int64_t> tensors_by_type;        // as stored in the file
};

// The model in `file` (whose header parse_gguf gave), checked as import_gguf says.
ImportedModel read_llama_gguf(std::span<const std::byte> file, const GgufHeader& header, std::string_view source);

// Reads `gguf_file` and writes the directory `out` (created; its three files replaced
// atomically). The file is untrusted: the reader's checks (gguf_reader.h), then the config
// (llama_gguf_metadata.h) against the memory limit (io::check_model_fits) and against every
// tensor — each the model needs present with its shape and a type Sieve decodes, and no
// others — before any tensor is decoded. Problems are core::UserErrors.
GgufImportSummary import_gguf(const std::filesystem::path& gguf_file, const std::filesystem::path& out);

}  // namespace sieve::convert_gguf
