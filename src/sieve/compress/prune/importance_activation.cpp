// The activation criterion (importance.h): what each unit adds to the residual stream on
// calibration batches. The o_proj and down_proj Linears are routed for the duration through an
// observing weight format (NOTE [Linear weight formats]) that computes the plain f32 product and
// measures, from its input, each head group's and channel's share of it.
#include <cmath>
#include <memory>

#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/prune/importance.h"
#include "sieve/compress/prune/unit_weights.h"
#include "sieve/core/error.h"
#include "sieve/nn/layers.h"
#include "sieve/ops/linear.h"

namespace sieve::compress {
namespace {

using core::Tensor;

// Letters: N tokens, C channels, U units in the Linear's input (head groups of `block` columns,
// or channels with block 1).
class UnitOutputObserver final : public nn::LinearWeightFormat {
 public:
  UnitOutputObserver(std::int64_t units, bool per_unit_products) : per_unit_products_(per_unit_products) {
    sums.assign(static_cast<std::size_t>(units), 0.0);
  }

  Tensor product(const Tensor& x, const Tensor& weight) const override {
    const std::int64_t K = weight.size(1), N = x.numel() / K;
    const Tensor rows = x.contiguous().view({N, K});  // [N, K]
    const std::int64_t U = static_cast<std::int64_t>(sums.size()), block = K / U;
    if (per_unit_products_) {  // head groups: ‖W[:, g] · x_g(t)‖ summed over tokens
      for (std::int64_t u = 0; u < U; ++u) {
        const Tensor y = ops::linear(rows.slice(1, u * block, (u + 1) * block).contiguous(),
                                     weight.slice(1, u * block, (u + 1) * block).contiguous());  // [N, C]
        const float* p = y.data<float>();
        const std::int64_t C = y.size(1);
        for (std::int64_t n = 0; n < N; ++n) {
          double sq = 0.0;
          for (std::int64_t ch = 0; ch < C; ++ch) sq += static_cast<double>(p[n * C + ch]) * p[n * C + ch];
          sums[static_cast<std::size_t>(u)] += std::sqrt(sq);
        }
      }
    } else {  // channels: |x_c(t)| summed over tokens (times ‖W[:, c]‖ afterwards)
      const float* p = rows.data<float>();
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t k = 0; k < K; ++k) sums[static_cast<std::size_t>(k)] += std::abs(p[n * K + k]);
    }
    tokens += N;
    last_output = ops::linear(x, weight);
    return last_output;
  }
  std::string describe() const override { return "f32 (measuring unit importance)"; }
  std::int64_t weight_bytes() const override { return 0; }

  mutable std::vector<double> sums;
  mutable std::int64_t tokens = 0;
  mutable Tensor last_output;  // of the latest forward: the sublayer's residual contribution

 private:
  bool per_unit_products_;
};

// Σ over tokens of 1 − cos(h_in(t), h_in(t) + delta(t)); h, delta [N, C].
double block_influence(const Tensor& h, const Tensor& delta) {
  const std::int64_t N = h.size(0), C = h.size(1);
  const float* a = h.data<float>();
  const float* d = delta.data<float>();
  double sum = 0.0;
  for (std::int64_t n = 0; n < N; ++n) {
    double dot = 0.0, aa = 0.0, bb = 0.0;
    for (std::int64_t ch = 0; ch < C; ++ch) {
      const double x = a[n * C + ch], y = x + d[n * C + ch];
      dot += x * y;
      aa += x * x;
      bb += y * y;
    }
    sum += aa > 0.0 && bb > 0.0 ? 1.0 - dot / std::sqrt(aa * bb) : 0.0;
  }
  return sum;
}

// h += delta, both [N, C] contiguous.
void add_in_place(Tensor& h, const Tensor& delta) {
  float* a = h.data<float>();
  const float* d = delta.data<float>();
  for (std::int64_t i = 0; i < h.numel(); ++i) a[i] += d[i];
}

// The embedding rows of `ids` [B, T] as [B·T, C].
Tensor embed(const Tensor& embedding, const Tensor& ids) {
  const std::int64_t N = ids.numel(), C = embedding.size(1);
  const Tensor table = embedding.contiguous();
  const Tensor flat = ids.contiguous();
  Tensor out = Tensor::empty({N, C});
  for (std::int64_t n = 0; n < N; ++n)
    std::copy_n(table.data<float>() + flat.data<std::int64_t>()[n] * C, C, out.data<float>() + n * C);
  return out;
}

}  // namespace

UnitImportance activation_importance(nn::LlamaForCausalLM& model, const std::vector<Tensor>& batches) {
  const nn::LlamaConfig& c = model.config();
  const std::int64_t L = c.num_hidden_layers;
  std::vector<nn::Linear*> o_proj(static_cast<std::size_t>(L)), down_proj(static_cast<std::size_t>(L));
  constexpr std::string_view kLayers = "model.layers.";
  for (const auto& [path, module] : model.named_modules()) {
    auto* linear = dynamic_cast<nn::Linear*>(module.get());
    if (linear == nullptr || !path.starts_with(kLayers)) continue;
    const std::int64_t l = std::stoll(path.substr(kLayers.size()));
    if (path.ends_with(".self_attn.o_proj")) o_proj[static_cast<std::size_t>(l)] = linear;
    if (path.ends_with(".mlp.down_proj")) down_proj[static_cast<std::size_t>(l)] = linear;
  }
  std::vector<std::shared_ptr<UnitOutputObserver>> heads, channels;
  for (std::int64_t l = 0; l < L; ++l) {
    SIEVE_CHECK(o_proj[l] != nullptr && down_proj[l] != nullptr && o_proj[l]->weight_format() == nullptr &&
                    down_proj[l]->weight_format() == nullptr,
                "activation importance: layer {} needs plain f32 o_proj and down_proj Linears", l);
    heads.push_back(std::make_shared<UnitOutputObserver>(c.kv_heads(l), true));
    channels.push_back(std::make_shared<UnitOutputObserver>(c.intermediate(l), false));
  }
  const auto detach_all = [&] {
    for (std::int64_t l = 0; l < L; ++l) {
      o_proj[l]->set_weight_format(nullptr, false);
      down_proj[l]->set_weight_format(nullptr, false);
    }
  };
  for (std::int64_t l = 0; l < L; ++l) {
    o_proj[l]->set_weight_format(heads[l], false);
    down_proj[l]->set_weight_format(channels[l], false);
  }
  UnitImportance out;
  out.layers.assign(static_cast<std::size_t>(L), 0.0);
  std::int64_t tokens = 0;
  const Tensor embedding = parameters_by_name(model).at("model.embed_tokens.weight");
  try {
    autograd::NoGradGuard no_grad;
    for (const Tensor& ids : batches) {
      model.forward(ids);
      // The residual stream before each layer, rebuilt from the embeddings and the layers' outputs.
      Tensor h = embed(embedding, ids);  // [N, C]
      for (std::int64_t l = 0; l < L; ++l) {
        Tensor delta = heads[l]->last_output.contiguous().view({h.size(0), h.size(1)}).clone();
        add_in_place(delta, channels[l]->last_output.contiguous().view({h.size(0), h.size(1)}));
        out.layers[static_cast<std::size_t>(l)] += block_influence(h, delta);
        add_in_place(h, delta);
      }
      tokens += ids.numel();
    }
  } catch (...) {
    detach_all();
    throw;
  }
  detach_all();
  const double n = static_cast<double>(tokens);
  for (std::int64_t l = 0; l < L; ++l) {
    out.layers[static_cast<std::size_t>(l)] /= n;
    std::vector<double> groups = heads[l]->sums;
    for (double& v : groups) v /= n;
    const auto down = col_block_sums(squared(down_proj[l]->weight()), 1);
    std::vector<double> units = channels[l]->sums;
    for (std::size_t ch = 0; ch < units.size(); ++ch) units[ch] = units[ch] / n * std::sqrt(down[ch]);
    out.head_groups.push_back(std::move(groups));
    out.channels.push_back(std::move(units));
  }
  return out;
}

}  // namespace sieve::compress
