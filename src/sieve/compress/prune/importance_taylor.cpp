// The taylor criterion (importance.h): Σ |w · ∂L/∂w| over a unit's weights, per calibration batch.
#include "sieve/autograd/engine.h"
#include "sieve/compress/prune/importance.h"
#include "sieve/compress/prune/unit_weights.h"
#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

// Adds b to a element by element.
void add_to(std::vector<double>& a, const std::vector<double>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
}

// Σ |w · ∂L/∂w| of one parameter; 0 when the loss did not reach it.
core::Tensor saliency(const core::Tensor& w) {
  const core::Tensor g = w.grad();
  return g.defined() ? abs_product(w, g) : core::Tensor::zeros(w.shape());
}

double sum_of(const core::Tensor& values) {
  const core::Tensor v = values.contiguous();
  double sum = 0.0;
  for (std::int64_t i = 0; i < v.numel(); ++i) sum += v.data<float>()[i];
  return sum;
}

}  // namespace

UnitImportance taylor_importance(nn::LlamaForCausalLM& model, const std::vector<core::Tensor>& batches) {
  const nn::LlamaConfig& c = model.config();
  const ParameterMap parameters = parameters_by_name(model);
  const std::int64_t D = c.head_dim(), L = c.num_hidden_layers;
  UnitImportance out;
  out.comparable_across_layers = true;
  for (std::int64_t l = 0; l < L; ++l) {
    out.head_groups.emplace_back(static_cast<std::size_t>(c.kv_heads(l)), 0.0);
    out.channels.emplace_back(static_cast<std::size_t>(c.intermediate(l)), 0.0);
  }
  out.layers.assign(static_cast<std::size_t>(L), 0.0);
  const auto weight = [&](std::int64_t l, std::string_view name) {
    return saliency(layer_parameter(parameters, l, name));
  };
  for (const core::Tensor& batch : batches) {
    SIEVE_CHECK(batch.dim() == 2 && batch.size(1) >= 2, "taylor importance: expected token ids [B, T >= 2]");
    const std::int64_t T = batch.size(1) - 1;
    model.zero_grad();
    const core::Tensor loss =
        model.loss(batch.slice(1, 0, T).contiguous(), batch.slice(1, 1, T + 1).contiguous());
    autograd::backward(loss);
    for (std::int64_t l = 0; l < L; ++l) {
      const std::int64_t G = c.heads(l) / c.kv_heads(l);
      auto& groups = out.head_groups[static_cast<std::size_t>(l)];
      add_to(groups, row_block_sums(weight(l, "self_attn.q_proj.weight"), G * D));
      add_to(groups, row_block_sums(weight(l, "self_attn.k_proj.weight"), D));
      add_to(groups, row_block_sums(weight(l, "self_attn.v_proj.weight"), D));
      add_to(groups, col_block_sums(weight(l, "self_attn.o_proj.weight"), G * D));
      auto& channels = out.channels[static_cast<std::size_t>(l)];
      add_to(channels, row_block_sums(weight(l, "mlp.gate_proj.weight"), 1));
      add_to(channels, row_block_sums(weight(l, "mlp.up_proj.weight"), 1));
      add_to(channels, col_block_sums(weight(l, "mlp.down_proj.weight"), 1));
      const std::string prefix = "model.layers." + std::to_string(l) + ".";
      for (auto it = parameters.lower_bound(prefix); it != parameters.end() && it->first.starts_with(prefix); ++it)
        out.layers[static_cast<std::size_t>(l)] += sum_of(saliency(it->second));
    }
  }
  model.zero_grad();
  const double n = static_cast<double>(batches.size());
  for (std::int64_t l = 0; l < L; ++l) {
    for (double& v : out.head_groups[static_cast<std::size_t>(l)]) v /= n;
    for (double& v : out.channels[static_cast<std::size_t>(l)]) v /= n;
    out.layers[static_cast<std::size_t>(l)] /= n;
  }
  return out;
}

}  // namespace sieve::compress
