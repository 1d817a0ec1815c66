// Runs Sieve's ONNX exports in ONNX Runtime through tests/onnx/run_onnx.mjs (Node and npm
// onnxruntime-node, which scripts/install-verifiers.sh installs), and the ONNX checker of
// Debian's python3-onnx. Paths come from tests/onnx/CMakeLists.txt.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace sieve::testing {

struct OnnxRun {
  std::vector<float> logits;                      // [batch, sequence, vocab] of the prefill graph
  std::vector<std::vector<std::int64_t>> tokens;  // greedy continuation of each row
};

// Runs `command`, returning its stdout; throws with the output when it fails.
inline std::string run_command(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  if (::pclose(pipe) != 0) throw std::runtime_error(command + " failed:\n" + output);
  return output;
}

inline std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// ONNX Runtime on `prefill` (and `with_past` for `greedy_tokens` > 0) with 2 threads, at graph
// optimization level `optimization` ("all": ONNX Runtime's default; "basic" keeps QDQ pairs as
// written instead of fusing them into its int8 kernels).
inline OnnxRun run_onnx_runtime(const std::filesystem::path& prefill, const std::filesystem::path& with_past,
                                const std::vector<std::vector<std::int64_t>>& ids,
                                const std::vector<std::vector<std::int64_t>>& mask, std::int64_t greedy_tokens,
                                const std::string& optimization = "all") {
  const std::filesystem::path logits_file = prefill.string() + ".logits.f32";
  nlohmann::json job = {{"ort", SIEVE_ONNXRUNTIME_NODE_DIR},
                        {"prefill", prefill.string()},
                        {"with_past", with_past.string()},
                        {"ids", ids},
                        {"threads", 2},
                        {"logits_out", logits_file.string()},
                        {"greedy_tokens", greedy_tokens},
                        {"optimization", optimization}};
  if (!mask.empty()) job["mask"] = mask;
  const std::string output =
      run_command(std::string(SIEVE_NODE) + " " + SIEVE_ONNX_RUNNER + " " + shell_quote(job.dump()));
  // The runner's JSON is its last line (ONNX Runtime may log warnings before it).
  const std::size_t end = output.find_last_not_of('\n');
  const std::size_t line = output.rfind('\n', end);
  const nlohmann::json result = nlohmann::json::parse(output.substr(line == std::string::npos ? 0 : line + 1));
  OnnxRun run;
  if (result.contains("tokens")) run.tokens = result["tokens"].get<std::vector<std::vector<std::int64_t>>>();
  std::ifstream in(logits_file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string data = bytes.str();
  run.logits.resize(data.size() / sizeof(float));
  std::memcpy(run.logits.data(), data.data(), data.size());
  std::filesystem::remove(logits_file);
  return run;
}

// onnx.checker.check_model(path, full_check=True) (shape inference included); throws with its
// message when the model is rejected.
inline void check_onnx_model(const std::filesystem::path& path) {
  run_command("/usr/bin/python3 -c " +
              shell_quote("import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True)") + " " +
              shell_quote(path.string()));
}

// The graph's inputs and outputs in order, one "name:type[dims]" each (symbolic dims by name),
// read by python3-onnx, e.g. "input_ids:int64[batch_size,sequence_length]".
inline std::vector<std::string> graph_interface(const std::filesystem::path& path) {
  static const char* kScript = R"(
import sys, onnx
graph = onnx.load(sys.argv[1], load_external_data=False).graph
for value in list(graph.input) + list(graph.output):
    t = value.type.tensor_type
    dims = ",".join(d.dim_param or str(d.dim_value) for d in t.shape.dim)
    print(f"{value.name}:{onnx.TensorProto.DataType.Name(t.elem_type).lower()}[{dims}]")
)";
  std::istringstream lines(
      run_command("/usr/bin/python3 -c " + shell_quote(kScript) + " " + shell_quote(path.string())));
  std::vector<std::string> interface;
  for (std::string line; std::getline(lines, line);) interface.push_back(line);
  return interface;
}

// The number of DequantizeLinear nodes of `path` in the symmetric form TensorRT reads: an int8
// initializer, float scales, an int8 zero-point of all zeros, and (per channel) axis 1; throws
// when one is not.
inline int count_symmetric_int8_dequantizers(const std::filesystem::path& path) {
  static const char* kScript = R"(
import sys, onnx, numpy
from onnx import numpy_helper
model = onnx.load(sys.argv[1])
init = {t.name: t for t in model.graph.initializer}
count = 0
for node in model.graph.node:
    if node.op_type != "DequantizeLinear":
        continue
    q, scale, zero = (init.get(name) for name in node.input)
    axis = {a.name: a.i for a in node.attribute}.get("axis", 1)
    if q is not None:  # a weight (activations are Quantize/Dequantize pairs with a scalar scale)
        assert q.data_type == onnx.TensorProto.INT8 and scale.data_type == onnx.TensorProto.FLOAT, node.name
        assert zero.data_type == onnx.TensorProto.INT8 and not numpy_helper.to_array(zero).any(), node.name
        assert axis == 1 and list(scale.dims) == [q.dims[1]], node.name
        count += 1
print(count)
)";
  return std::stoi(run_command("/usr/bin/python3 -c " + shell_quote(kScript) + " " + shell_quote(path.string())));
}

}  // namespace sieve::testing
