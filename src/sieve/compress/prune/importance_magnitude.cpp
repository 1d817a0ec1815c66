// The magnitude criterion (importance.h): norms of the weights that carry a unit's output.
#include <cmath>

#include "sieve/compress/prune/importance.h"
#include "sieve/compress/prune/unit_weights.h"

namespace sieve::compress {

UnitImportance magnitude_importance(const nn::LlamaForCausalLM& model) {
  const nn::LlamaConfig& c = model.config();
  const ParameterMap parameters = parameters_by_name(model);
  const std::int64_t D = c.head_dim();
  UnitImportance out;
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::int64_t G = c.heads(l) / c.kv_heads(l);
    const auto value = row_block_sums(squared(layer_parameter(parameters, l, "self_attn.v_proj.weight")), D);
    const auto output = col_block_sums(squared(layer_parameter(parameters, l, "self_attn.o_proj.weight")), G * D);
    const auto gate = row_block_sums(squared(layer_parameter(parameters, l, "mlp.gate_proj.weight")), 1);
    const auto up = row_block_sums(squared(layer_parameter(parameters, l, "mlp.up_proj.weight")), 1);
    const auto down = col_block_sums(squared(layer_parameter(parameters, l, "mlp.down_proj.weight")), 1);
    std::vector<double> groups(value.size()), channels(gate.size());
    double layer = 0.0;
    for (std::size_t g = 0; g < groups.size(); ++g) layer += groups[g] = std::sqrt(value[g] * output[g]);
    for (std::size_t ch = 0; ch < channels.size(); ++ch)
      layer += channels[ch] = std::sqrt(gate[ch] * up[ch] * down[ch]);
    out.head_groups.push_back(std::move(groups));
    out.channels.push_back(std::move(channels));
    out.layers.push_back(layer);
  }
  return out;
}

}  // namespace sieve::compress
