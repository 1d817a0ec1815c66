// `sieve export --format onnx`: a Sieve model directory (f32, or INT8 from `sieve quantize`) as two
// ONNX opset-17 graphs in Hugging Face Optimum's naming (llama_onnx_graph.h):
//   <out>                    prefill: input_ids (+ attention_mask) → logits, present.*
//   <out stem>_with_past.onnx  KV-cached decoding: the same plus past_key_values.* inputs
// INT8 Linears become QDQ (onnx_linear.h). When the weights pass `external_data_threshold`,
// every large initializer goes to one external data file, <out>.data, which both graphs
// reference (protobuf cannot serialize a message over 2 GiB).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sieve::convert_onnx {

struct OnnxExportOptions {
  // Weights (bytes of initializers) above this go to external data; the default leaves room under
  // protobuf's 2 GiB limit for the graph itself.
  std::uint64_t external_data_threshold = (std::uint64_t{2} << 30) - (std::uint64_t{64} << 20);
};

struct OnnxExportSummary {
  std::vector<std::filesystem::path> files;  // the graphs, then the external data file if any
  std::uint64_t weight_bytes = 0;            // of one graph's initializers
  std::int64_t int8_linears = 0;             // Linears written as QDQ
  std::vector<std::string> notes;            // what the user should know
};

// m.onnx → m_with_past.onnx (beside it).
std::filesystem::path with_past_path(const std::filesystem::path& out);

// Writes the graphs (each file atomically) after every check has passed, so a refused export
// leaves no file. core::UserError for: no model directory; --out a directory, in a folder that
// does not exist, or not ending in .onnx; local or sparse attention layers (ONNX would run them
// dense: another model); INT4 layers (opset 17 has no 4-bit type).
OnnxExportSummary export_onnx(const std::filesystem::path& model_dir, const std::filesystem::path& out,
                              const OnnxExportOptions& options = {});

}  // namespace sieve::convert_onnx
