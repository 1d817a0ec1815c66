// Per-layer sensitivity analysis (NOTE [Sensitivity analysis] in sensitivity.cpp): how much the
// loss of a model rises when one Linear — or one group of them — is quantized alone, next to
// what that saves in bytes and in decoding time. The mixed-plan search (mixed_plan_search.h)
// decides per layer from this table.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sieve/compress/quantization_plan.h"
#include "sieve/core/tensor.h"
#include "sieve/nn/models/llama.h"

namespace sieve::compress {

struct SensitivityRow {
  std::string layer;        // a Linear's path, or a group: "attention", "mlp", "all"
  bool group = false;
  Precision precision = Precision::int8;
  double delta_loss = 0.0;  // loss with this quantized alone − the f32 loss (may be < 0)
  double delta_ppl_percent = 0.0;  // 100 · (exp(delta_loss) − 1)
  std::int64_t bytes_saved = 0;    // f32 weight bytes − quantized bytes (scales included)
  double decode_ms_saved = 0.0;    // per token: the layer's product at one token, f32 − quantized (measured)
};

struct SensitivityReport {
  double f32_loss = 0.0;             // mean next-token loss of the f32 model on the batches
  std::int64_t tokens = 0;           // tokens the losses average over
  QuantizationPlan settings;         // group size, scale dtype, activations used
  std::vector<SensitivityRow> rows;  // per layer (int8 then int4), then the groups
};

// Mean next-token cross-entropy over `batches` (int64 [B, T + 1]: predicts tokens 1..T from
// 0..T−1), under NoGradGuard.
double mean_loss(const nn::LlamaForCausalLM& model, const std::vector<core::Tensor>& batches);

// Quantizes each Linear the uniform schemes quantize, alone, at int8 and at int4 with the
// plan's settings (and each group: every attention projection, every MLP projection, all of
// them), measures the loss on `batches`, and restores the f32 product. `input_ranges` gives
// calibrated ranges when settings.activations is static (null: dynamic). The model must hold
// its f32 weights; it is unchanged afterwards. `progress` (may be empty) is called per row.
SensitivityReport analyze_sensitivity(nn::LlamaForCausalLM& model, const std::vector<core::Tensor>& batches,
                                      const QuantizationPlan& settings,
                                      const std::map<std::string, float>* input_ranges,
                                      const std::function<void(const SensitivityRow&)>& progress = {});

// The report as JSON ({"f32_loss", "tokens", "settings", "rows": [...]}) and as a Markdown table.
nlohmann::json sensitivity_json(const SensitivityReport& report);
std::string sensitivity_markdown(const SensitivityReport& report);

}  // namespace sieve::compress
