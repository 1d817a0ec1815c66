// Quantization-aware training (NOTE [Quantization-aware training] in qat.cpp): every Linear that
// `sieve quantize --scheme S` quantizes (uniform_plan in quantization_plan.h) computes with
// fake-quantized operands while training, so the weights learn to live on the quantized grid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sieve/compress/quantization_plan.h"
#include "sieve/nn/models/llama.h"

namespace sieve::compress {

struct QatOptions {
  std::string scheme = "int8";    // "int8": weights per channel + activations per token; "int4": weights only
  std::int64_t group_size = kDefaultInt4GroupSize;  // int4: weights in groups of G inputs (a multiple of 32, 32..128)
};

// Checks the options (a UserError names the bad one) and puts the fake-quantized product on
// the model's quantizable Linears; returns their paths. The f32 weights stay the trained
// parameters (the straight-through estimator updates them), and a saved model is an ordinary
// f32 directory for `sieve quantize` with the same scheme and group size.
std::vector<std::string> apply_qat(nn::LlamaForCausalLM& model, const QatOptions& options);

// Back to the plain f32 product on every Linear apply_qat changed.
void remove_qat(nn::LlamaForCausalLM& model);

}  // namespace sieve::compress
