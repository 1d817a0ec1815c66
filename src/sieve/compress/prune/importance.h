// How much each prunable unit of a LlamaForCausalLM matters (docs/compression.md, "Structured
// pruning"). Units:
//   head group  one key/value head with the query heads that read it (H / Hkv of them). Under
//               GQA whole groups are removed, so every layer keeps heads = G · kv_heads and the
//               KV cache shrinks with the heads; without GQA (G = 1) a group is one head.
//   channel     one MLP hidden channel: its gate_proj and up_proj rows and its down_proj column.
//   layer       a whole decoder block.
// Criteria (larger = more important; a unit whose output is zero scores 0 under each):
//   magnitude   weight norms: a group ‖W_v,g‖·‖W_o,g‖ (value rows, output columns), a channel
//               ‖gate_c‖·‖up_c‖·‖down_c‖, a layer the sum of its groups' and channels'.
//   activation  on calibration batches, the mean norm of what the unit adds to the residual
//               stream: a group ‖W_o,g · a_g(t)‖, a channel |h_c(t)|·‖down_c‖, a layer
//               1 − cos(x_in, x_out) of the residual stream across it (ShortGPT's block influence).
//   taylor      first-order loss change of removing the unit, Σ |w · ∂L/∂w| over its weights
//               (a group: its q, k, v rows and o columns; a layer: every parameter in it),
//               averaged over calibration batches.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "sieve/core/tensor.h"
#include "sieve/nn/models/llama.h"

namespace sieve::compress {

enum class ImportanceCriterion { magnitude, activation, taylor };

std::optional<ImportanceCriterion> importance_criterion_from_name(std::string_view name);
std::string_view importance_criterion_name(ImportanceCriterion criterion);

struct UnitImportance {
  std::vector<std::vector<double>> head_groups;  // [layer][kv head]
  std::vector<std::vector<double>> channels;     // [layer][MLP channel]
  std::vector<double> layers;                    // [layer]
  // Whether scores of units in different layers compare: true for taylor (an estimate of the
  // loss change itself); false for magnitude and activation, whose norms grow with depth as
  // the residual stream does (measured: a global ranking of them strips the first layers'
  // heads; docs/compression.md), so plan_for_flops ranks those within each layer.
  bool comparable_across_layers = false;
};

// The importance of every unit of `model` (dense f32 weights, no LoRA adapters or weight
// formats). `batches` (int64 token ids [B, T]) are needed by activation and taylor; magnitude
// ignores them. Taylor leaves the parameters' gradients cleared.
UnitImportance measure_importance(nn::LlamaForCausalLM& model, ImportanceCriterion criterion,
                                  const std::vector<core::Tensor>& batches);

// The three criteria, one file each.
UnitImportance magnitude_importance(const nn::LlamaForCausalLM& model);
UnitImportance activation_importance(nn::LlamaForCausalLM& model, const std::vector<core::Tensor>& batches);
UnitImportance taylor_importance(nn::LlamaForCausalLM& model, const std::vector<core::Tensor>& batches);

}  // namespace sieve::compress
