// A Sieve Linear (no bias) as ONNX nodes, x [..., K] → [..., M]:
//   f32 weight   MatMul(x, Wᵀ) with Wᵀ an f32 initializer [K, M]
//   INT8 weight  MatMul(x, DequantizeLinear(qᵀ, scale, 0, axis=1)): the int8 q [K, M] and its
//                per-output-channel f32 scales [M] with zero-point 0 — the QDQ form TensorRT's ONNX
//                parser reads as an int8 GEMM. Static activations (one calibrated scale) add
//                QuantizeLinear → DequantizeLinear on x; dynamic ones (a scale per token, which QDQ
//                cannot express) leave x in f32.
// Initializers are named after the Linear's path (`<path>.weight_t`, `.weight_q`, `.weight_scale`,
// `.input_scale`), so both graphs of an export name the same weights alike.
#pragma once

#include <string>

#include "sieve/convert_onnx/onnx_graph_builder.h"
#include "sieve/nn/layers.h"

namespace sieve::convert_onnx {

std::string linear_nodes(OnnxGraphBuilder& graph, const nn::Linear& linear, const std::string& path,
                         const std::string& x);

}  // namespace sieve::convert_onnx
