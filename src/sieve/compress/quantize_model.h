// Post-training quantization of a model in place: each Linear a plan names gets its quantized
// weight format and releases its f32 weight (nn::Linear::set_weight_format), so the model keeps
// only the quantized copy. The result is an inference model: the parameters left (embedding,
// norms, f32 Linears) are frozen, and a product that would need a gradient is an error.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "sieve/compress/quantization_plan.h"
#include "sieve/nn/models/llama.h"

namespace sieve::compress {

// Applies `plan` (validated against the model first: validate_plan). With static activations,
// `input_ranges` must give max |x| for every INT8 layer (calibrate_input_ranges); the layer's
// static scale is max |x| / 127. Every Linear it quantizes must still hold its f32 weight. A
// plan, range or weight it cannot quantize (a non-finite weight, an INT4 scale beyond f16) is a
// core::UserError naming the layer, and leaves the model as it was.
void quantize_model(nn::LlamaForCausalLM& model, const QuantizationPlan& plan,
                    const std::map<std::string, float>* input_ranges = nullptr);

// The weight format `linear` gets at `precision` (int8 or int4) with the plan's settings (group
// size, scale dtype); for int8, `input_range` (max |x| from calibration) gives a static
// activation scale, null keeps activations dynamic. The Linear is not changed.
std::shared_ptr<const nn::LinearWeightFormat> quantized_format(const nn::Linear& linear, Precision precision,
                                                               const QuantizationPlan& settings, const float* input_range);

// The INT8 layers of a plan: the ones calibration must observe for static activations.
std::vector<std::string> int8_layers(const QuantizationPlan& plan);

// The plan a quantized model runs: read back from its Linears' weight formats (the scheme is
// int8 or int4 when every quantized layer is, else mixed). Used to save the model and to show it.
QuantizationPlan plan_of(const nn::LlamaForCausalLM& model);

// Freezes every parameter left (requires_grad false): what quantize_model and the loader do.
void freeze_for_inference(nn::Module& model);

}  // namespace sieve::compress
