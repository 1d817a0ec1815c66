#include "sieve/compress/quantized_footprint.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "sieve/core/checked_math.h"
#include "sieve/io/model_layout.h"
#include "sieve/io/model_limits.h"
#include "sieve/kernels/cpu/quantized_linear.h"

namespace sieve::compress {
namespace {

constexpr std::int64_t kSaturated = std::numeric_limits<std::int64_t>::max();

// a + b · n, saturating at kSaturated.
std::int64_t add_product(std::int64_t a, std::int64_t b, std::int64_t n) {
  const auto product = core::checked_mul(b, n);
  const auto sum = product ? core::checked_add(a, *product) : std::nullopt;
  return sum.value_or(kSaturated);
}

// The Linears of a decoder layer, relative to it: their weights are the parameters
// "<name>.weight" of io::llama_layer_parameters (the scorer's convolutions are not Linears).
constexpr std::string_view kLayerLinears[] = {
    "self_attn.q_proj", "self_attn.k_proj",      "self_attn.v_proj",    "self_attn.o_proj", "self_attn.scorer.proj1",
    "self_attn.scorer.out", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};

}  // namespace

std::optional<core::Shape> linear_weight_shape(const nn::LlamaConfig& config, std::string_view path) {
  if (path == "lm_head") {
    if (config.tie_word_embeddings) return std::nullopt;  // the embedding, not a Linear
    return core::Shape{config.vocab_size, config.hidden_size};
  }
  constexpr std::string_view kLayers = "model.layers.";
  if (!path.starts_with(kLayers)) return std::nullopt;
  path.remove_prefix(kLayers.size());
  std::int64_t layer = -1;
  const auto [end, error] = std::from_chars(path.data(), path.data() + path.size(), layer);
  // The index as the model writes it: "01" or "+1" would name layer 1 twice.
  if (error != std::errc() || layer < 0 || layer >= config.num_hidden_layers || end == path.data() + path.size() ||
      *end != '.' || std::to_string(layer) != std::string_view(path.data(), end))
    return std::nullopt;
  const std::string_view relative(end + 1, path.data() + path.size() - end - 1);
  if (std::ranges::find(kLayerLinears, relative) == std::end(kLayerLinears)) return std::nullopt;
  const std::string weight = std::string(relative) + ".weight";
  for (const io::TensorSpec& spec : io::llama_layer_parameters(config, layer))
    if (spec.name == weight) return spec.shape;
  return std::nullopt;  // a scorer Linear of a layer that is not sparse
}

std::int64_t quantized_tensor_bytes(std::int64_t M, std::int64_t K, Precision precision, const QuantizationPlan& plan) {
  if (precision == Precision::int8) return add_product(add_product(0, M, K), M, 4);  // q, scales
  // packed [M, ceil(K/2)], scales f32 [M, ceil(K/G)] whatever the file stores
  return add_product(add_product(0, M, core::ceil_div(K, 2)), M, 4 * core::ceil_div(K, plan.group_size));
}

QuantizedFootprint quantized_footprint(const nn::LlamaConfig& config, const QuantizationPlan& plan,
                                       std::string_view source) {
  const io::ModelFootprint f32 = io::llama_footprint(config, source);
  QuantizedFootprint f;
  std::int64_t released = 0;      // f32 weight elements the quantized layers do not keep
  std::int64_t kernel_bytes = 0;  // the INT8 kernel's prepared copies
  for (const auto& [path, precision] : plan.layers) {
    if (precision == Precision::f32) continue;
    const auto shape = linear_weight_shape(config, path);
    if (!shape) continue;
    const std::int64_t M = (*shape)[0], K = (*shape)[1];
    released += M * K;  // a parameter's numel: llama_footprint summed them without overflow
    ++f.quantized_layers;
    f.quantized_tensor_bytes = add_product(f.quantized_tensor_bytes, quantized_tensor_bytes(M, K, precision, plan), 1);
    if (precision == Precision::int8) kernel_bytes = add_product(kernel_bytes, kernels::cpu::int8_weight_bytes(M, K), 1);
  }
  f.f32_parameters = f32.parameters - released;
  f.bytes = add_product(0, f.f32_parameters, 4);
  f.bytes = add_product(f.bytes, f32.buffer_elements, 4);
  f.bytes = add_product(f.bytes, f.quantized_tensor_bytes, 1);
  f.bytes = add_product(f.bytes, kernel_bytes, 1);
  f.bytes = add_product(f.bytes, f32.parameter_tensors, io::kBookkeepingBytesPerTensor);
  return f;
}

void check_quantized_model_fits(const nn::LlamaConfig& config, const QuantizationPlan& plan, std::string_view source) {
  const QuantizedFootprint f = quantized_footprint(config, plan, source);
  if (static_cast<std::uint64_t>(f.bytes) <= io::max_model_bytes()) return;
  const io::TensorSpec largest = io::llama_footprint(config, source).largest;
  io::check_bytes_fit(f.bytes, source,
                      fmt::format("{} parameters left f32 and {} quantized layers holding {}; the model's largest "
                                  "tensor, {} {}, is {}",
                                  f.f32_parameters, f.quantized_layers,
                                  io::human_bytes(static_cast<std::uint64_t>(f.quantized_tensor_bytes)), largest.name,
                                  core::shape_string(largest.shape), largest.fields));
}

}  // namespace sieve::compress
