#include "sieve/convert_onnx/onnx_linear.h"

#include <cstdint>
#include <cstring>
#include <utility>

#include "sieve/compress/quantized_linear.h"
#include "sieve/core/error.h"

namespace sieve::convert_onnx {
namespace {

using core::Tensor;
using onnx::TensorProto;

// The transpose [K, M] of a row-major [M, K] matrix of T, as bytes.
template <typename T>
std::string transposed_bytes(const T* values, std::int64_t M, std::int64_t K) {
  std::string bytes(static_cast<std::size_t>(M * K) * sizeof(T), '\0');
  auto* out = reinterpret_cast<T*>(bytes.data());
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t k = 0; k < K; ++k) out[k * M + m] = values[m * K + k];
  return bytes;
}

std::string float_bytes(const float* values, std::int64_t count) {
  std::string bytes(static_cast<std::size_t>(count) * sizeof(float), '\0');
  std::memcpy(bytes.data(), values, bytes.size());
  return bytes;
}

// Wᵀ [K, M] in f32 as DequantizeLinear of the INT8 weight, and x through Q/DQ when the layer has a
// static activation scale. Returns {x', Wᵀ}.
std::pair<std::string, std::string> int8_operands(OnnxGraphBuilder& graph, const compress::Int8LinearFormat& int8,
                                                  const std::string& path, const std::string& x) {
  const std::int64_t M = int8.q().size(0), K = int8.q().size(1);
  const Tensor q = int8.q().contiguous(), scales = int8.scales().contiguous();
  const std::string weight_q =
      graph.initializer(path + ".weight_q", TensorProto::INT8, {K, M}, transposed_bytes(q.data<std::int8_t>(), M, K));
  const std::string weight_scale =
      graph.initializer(path + ".weight_scale", TensorProto::FLOAT, {M}, float_bytes(scales.data<float>(), M));
  const std::string weight_zero = graph.initializer(path + ".weight_zero_point", TensorProto::INT8, {M},
                                                    std::string(static_cast<std::size_t>(M), '\0'));
  const std::string weight =
      graph.node("DequantizeLinear", {weight_q, weight_scale, weight_zero}, {{"axis", std::int64_t{1}}});
  if (int8.activation().dynamic) return {x, weight};
  const float input_scale_value = int8.activation().static_scale;
  const std::string input_scale =
      graph.initializer(path + ".input_scale", TensorProto::FLOAT, {}, float_bytes(&input_scale_value, 1));
  const std::string input_zero =
      graph.initializer(path + ".input_zero_point", TensorProto::INT8, {}, std::string(1, '\0'));
  const std::string quantized = graph.node("QuantizeLinear", {x, input_scale, input_zero});
  return {graph.node("DequantizeLinear", {quantized, input_scale, input_zero}), weight};
}

}  // namespace

std::string linear_nodes(OnnxGraphBuilder& graph, const nn::Linear& linear, const std::string& path,
                         const std::string& x) {
  SIEVE_CHECK(!linear.bias().defined(), "{}: LLaMA projections have no bias", path);
  const nn::LinearWeightFormat* format = linear.weight_format();
  if (format == nullptr) {
    const Tensor weight = linear.weight().contiguous();
    const std::int64_t M = weight.size(0), K = weight.size(1);
    const std::string weight_t =
        graph.initializer(path + ".weight_t", TensorProto::FLOAT, {K, M}, transposed_bytes(weight.data<float>(), M, K));
    return graph.node("MatMul", {x, weight_t});
  }
  const auto* int8 = dynamic_cast<const compress::Int8LinearFormat*>(format);
  SIEVE_CHECK(int8 != nullptr, "{}: only f32 and INT8 Linears reach the ONNX graph (INT4 is refused earlier)", path);
  const auto [input, weight] = int8_operands(graph, *int8, path, x);
  return graph.node("MatMul", {input, weight});
}

}  // namespace sieve::convert_onnx
