// A small writer of ONNX graphs over onnx.proto's generated messages: nodes with generated
// output names, initializers from raw bytes, named inputs and outputs with symbolic axes. Only
// convert_onnx's own files include it: its public header, onnx_export.h, has no protobuf types.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "onnx/onnx.pb.h"

namespace sieve::convert_onnx {

// One attribute of a node: an int, a float or a list of ints (all the LLaMA graph needs).
struct OnnxAttribute {
  std::string name;
  std::variant<std::int64_t, float, std::vector<std::int64_t>> value;
};

// An axis of a graph input or output: a fixed size or a symbolic name ("batch_size").
using OnnxDim = std::variant<std::int64_t, std::string>;

class OnnxGraphBuilder {
 public:
  explicit OnnxGraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // Adds `op` (ai.onnx domain) and returns its `outputs` output names (generated, unique).
  std::vector<std::string> nodes(std::string_view op, std::vector<std::string> inputs, int outputs,
                                 std::vector<OnnxAttribute> attributes = {});
  // The single-output form.
  std::string node(std::string_view op, std::vector<std::string> inputs, std::vector<OnnxAttribute> attributes = {});

  // An initializer holding `bytes` (little-endian, `dims` of `type`); returns `name`.
  std::string initializer(std::string name, onnx::TensorProto::DataType type, std::vector<std::int64_t> dims,
                          std::string bytes);
  // Small constants as initializers with generated names: 1-D int64, scalar or 1-D float.
  std::string int64s(std::span<const std::int64_t> values);
  std::string int64s(std::initializer_list<std::int64_t> values) {
    return int64s(std::span(values.begin(), values.size()));
  }
  std::string int64_scalar(std::int64_t value);
  std::string float_scalar(float value);

  // Gives `value` the name `name` too (an Identity node), e.g. a graph output's fixed name.
  void alias(const std::string& value, const std::string& name);

  void input(const std::string& name, onnx::TensorProto::DataType type, const std::vector<OnnxDim>& dims);
  void output(const std::string& name, onnx::TensorProto::DataType type, const std::vector<OnnxDim>& dims);

 private:
  std::string fresh_name(std::string_view stem);
  onnx::GraphProto& graph_;
  std::int64_t next_id_ = 0;
};

}  // namespace sieve::convert_onnx
