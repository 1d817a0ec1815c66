#include "sieve/compress/prune/prune_model.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

using core::Tensor;

// Rows `rows` (each `block` rows long: a head's D rows, or one channel) of a [M, K] matrix.
Tensor select_rows(const Tensor& w, const std::vector<std::int64_t>& rows, std::int64_t block) {
  const Tensor src = w.contiguous();
  const std::int64_t K = src.size(1);
  Tensor out = Tensor::empty({static_cast<std::int64_t>(rows.size()) * block, K});
  const float* in = src.data<float>();
  float* o = out.data<float>();
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::memcpy(o + static_cast<std::int64_t>(i) * block * K, in + rows[i] * block * K,
                static_cast<std::size_t>(block * K) * sizeof(float));
  return out;
}

// Columns `cols` (each `block` columns long) of a [M, K] matrix.
Tensor select_cols(const Tensor& w, const std::vector<std::int64_t>& cols, std::int64_t block) {
  const Tensor src = w.contiguous();
  const std::int64_t M = src.size(0), K = src.size(1), K2 = static_cast<std::int64_t>(cols.size()) * block;
  Tensor out = Tensor::empty({M, K2});
  const float* in = src.data<float>();
  float* o = out.data<float>();
  for (std::int64_t m = 0; m < M; ++m)
    for (std::size_t i = 0; i < cols.size(); ++i)
      std::memcpy(o + m * K2 + static_cast<std::int64_t>(i) * block, in + m * K + cols[i] * block,
                  static_cast<std::size_t>(block) * sizeof(float));
  return out;
}

// The query heads of the kept key/value groups, G per group.
std::vector<std::int64_t> query_heads(const std::vector<std::int64_t>& groups, std::int64_t G) {
  std::vector<std::int64_t> heads;
  for (const std::int64_t g : groups)
    for (std::int64_t h = 0; h < G; ++h) heads.push_back(g * G + h);
  return heads;
}

// `values` unless every entry equals `all` (then empty: the top-level field holds).
std::vector<std::int64_t> listed_unless(const std::vector<std::int64_t>& values, std::int64_t all) {
  return std::all_of(values.begin(), values.end(), [&](std::int64_t v) { return v == all; })
             ? std::vector<std::int64_t>{}
             : values;
}

void check_plan(const nn::LlamaConfig& c, const PrunePlan& plan) {
  SIEVE_CHECK(!plan.layers.empty() && plan.head_groups.size() == plan.layers.size() &&
                  plan.channels.size() == plan.layers.size(),
              "prune plan: {} layers, {} head lists, {} channel lists", plan.layers.size(), plan.head_groups.size(),
              plan.channels.size());
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const std::int64_t l = plan.layers[i];
    SIEVE_CHECK(l >= 0 && l < c.num_hidden_layers && (i == 0 || l > plan.layers[i - 1]), "prune plan: layer {}", l);
    SIEVE_CHECK(!plan.head_groups[i].empty() && !plan.channels[i].empty(), "prune plan: layer {} keeps no unit", l);
    for (std::size_t j = 0; j < plan.head_groups[i].size(); ++j)
      SIEVE_CHECK(plan.head_groups[i][j] >= 0 && plan.head_groups[i][j] < c.kv_heads(l) &&
                      (j == 0 || plan.head_groups[i][j] > plan.head_groups[i][j - 1]),
                  "prune plan: layer {} head group {}", l, plan.head_groups[i][j]);
    for (std::size_t j = 0; j < plan.channels[i].size(); ++j)
      SIEVE_CHECK(plan.channels[i][j] >= 0 && plan.channels[i][j] < c.intermediate(l) &&
                      (j == 0 || plan.channels[i][j] > plan.channels[i][j - 1]),
                  "prune plan: layer {} channel {}", l, plan.channels[i][j]);
  }
}

}  // namespace

nn::LlamaConfig pruned_config(const nn::LlamaConfig& c, const PrunePlan& plan) {
  check_plan(c, plan);
  nn::LlamaConfig out = c;
  out.num_hidden_layers = static_cast<std::int64_t>(plan.layers.size());
  out.attention.layers.clear();
  if (!c.attention.layers.empty())
    for (const std::int64_t l : plan.layers) out.attention.layers.push_back(c.attention.kind(l));
  std::vector<std::int64_t> heads, kv_heads, intermediate;
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const std::int64_t l = plan.layers[i], G = c.heads(l) / c.kv_heads(l);
    const auto groups = static_cast<std::int64_t>(plan.head_groups[i].size());
    heads.push_back(groups * G);
    kv_heads.push_back(groups);
    intermediate.push_back(static_cast<std::int64_t>(plan.channels[i].size()));
  }
  // One MLP width for all layers is an ordinary config's intermediate_size.
  if (std::all_of(intermediate.begin(), intermediate.end(), [&](std::int64_t v) { return v == intermediate[0]; }))
    out.intermediate_size = intermediate[0];
  out.pruning.num_attention_heads = listed_unless(heads, c.num_attention_heads);
  out.pruning.num_key_value_heads = listed_unless(kv_heads, c.num_key_value_heads);
  out.pruning.intermediate_size = listed_unless(intermediate, out.intermediate_size);
  return out;
}

std::unique_ptr<nn::LlamaForCausalLM> prune_model(const nn::LlamaForCausalLM& model, const PrunePlan& plan) {
  const nn::LlamaConfig& c = model.config();
  const nn::LlamaConfig config = pruned_config(c, plan);
  std::unique_ptr<nn::LlamaForCausalLM> pruned;
  {
    nn::SkipParameterInitGuard skip_init;  // every parameter is copied just below
    pruned = std::make_unique<nn::LlamaForCausalLM>(config, 0);
  }
  std::map<std::string, Tensor> source;
  for (const auto& [name, tensor] : model.named_parameters()) source.emplace(name, tensor);
  const std::int64_t D = c.head_dim();
  constexpr std::string_view kLayers = "model.layers.";
  for (auto& [name, parameter] : pruned->named_parameters()) {
    if (!name.starts_with(kLayers)) {
      parameter.copy_from(source.at(name));
      continue;
    }
    const std::size_t dot = name.find('.', kLayers.size());
    const auto i = static_cast<std::size_t>(std::stoll(name.substr(kLayers.size(), dot - kLayers.size())));
    const std::int64_t l = plan.layers[i];
    const std::string relative = name.substr(dot + 1);
    const Tensor& w = source.at(std::string(kLayers) + std::to_string(l) + "." + relative);
    const std::int64_t G = c.heads(l) / c.kv_heads(l);
    Tensor value;
    if (relative == "self_attn.q_proj.weight") value = select_rows(w, query_heads(plan.head_groups[i], G), D);
    else if (relative == "self_attn.k_proj.weight" || relative == "self_attn.v_proj.weight")
      value = select_rows(w, plan.head_groups[i], D);
    else if (relative == "self_attn.o_proj.weight") value = select_cols(w, query_heads(plan.head_groups[i], G), D);
    else if (relative == "mlp.gate_proj.weight" || relative == "mlp.up_proj.weight")
      value = select_rows(w, plan.channels[i], 1);
    else if (relative == "mlp.down_proj.weight") value = select_cols(w, plan.channels[i], 1);
    else value = w;  // norms, the sparse scorer: independent of the widths
    SIEVE_CHECK(value.shape() == parameter.shape(), "prune: {} is {}, the pruned model expects {}", name,
                core::shape_string(value.shape()), core::shape_string(parameter.shape()));
    parameter.copy_from(value);
  }
  return pruned;
}

}  // namespace sieve::compress
