// Physically slices a model to the units a PrunePlan keeps: q/k/v rows and o_proj columns of the
// kept heads, gate/up rows and down_proj columns of the kept MLP channels, the kept layers
// renumbered 0..L'-1. The result is an ordinary LlamaForCausalLM whose config carries per-layer
// widths (LlamaConfig::pruning). It computes exactly what the source computes with the removed
// units' outputs zeroed: their o_proj input columns, down_proj columns, or a layer's residual
// contribution.
#pragma once

#include <memory>

#include "sieve/compress/prune/prune_plan.h"
#include "sieve/nn/models/llama.h"

namespace sieve::compress {

// The config of the pruned model: fewer layers (attention.layers trimmed to them) and per-layer
// widths, listed only where they differ from the top-level field (a uniform MLP width becomes
// the top-level intermediate_size; head_dim never changes).
nn::LlamaConfig pruned_config(const nn::LlamaConfig& config, const PrunePlan& plan);

// A new model holding the kept weights of `model` (f32 weights, no adapters or weight formats).
// Sparse layers redraw their LSH rotations (fixed random projections) for their new index and width.
std::unique_ptr<nn::LlamaForCausalLM> prune_model(const nn::LlamaForCausalLM& model, const PrunePlan& plan);

}  // namespace sieve::compress
