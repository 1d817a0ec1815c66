// `sieve export --format gguf`: a Sieve model directory as a llama.cpp `llama` GGUF file
// (docs/conversion.md). Tensors are renamed and the q/k rows permuted as llama.cpp's converter
// does (llama_gguf_names.h), the config becomes llama.* keys (llama_gguf_metadata.h) and
// tokenizer.model becomes tokenizer.ggml.* (gguf_tokenizer.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sieve/convert_gguf/gguf_types.h"

namespace sieve::convert_gguf {

struct GgufExportSummary {
  std::map<std::string, std::int64_t> tensors_by_type;  // "q8_0" → count
  std::vector<std::string> notes;                       // what the user should know (fallbacks, mappings)
  std::uint64_t file_bytes = 0;
};

// The export types `sieve export --type` accepts: f32, f16, q8_0, q4_0.
GgmlType gguf_export_type_from_name(std::string_view name);

// Writes `out` (atomically) from the model directory `model_dir` (plain f32, or quantized by
// `sieve quantize`). Norm weights stay f32; every matrix is stored as `type`, except that a
// quantized type needs rows that are whole 32-element blocks — a matrix whose rows are not is
// stored as f16 instead (a note says so). From a quantized directory, INT8 layers go to q8_0 and
// INT4 layers to q4_0 directly when `type` is that type (q8_0 takes each row's scale as its
// blocks' f16 scale; INT4's nibbles and scales are q4_0's as they are, lossless with f16
// scales); every other combination dequantizes to f32 first. Refused with a core::UserError: a
// directory without tokenizer.model (llama.cpp needs the vocabulary), and local or sparse
// attention layers (the `llama` architecture attends densely and has no place for the scorer).
GgufExportSummary export_gguf(const std::filesystem::path& model_dir, const std::filesystem::path& out, GgmlType type);

}  // namespace sieve::convert_gguf
