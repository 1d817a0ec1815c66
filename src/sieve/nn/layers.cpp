#include "sieve/nn/layers.h"

#include "sieve/nn/adapters/lora.h"
#include "sieve/ops/activation.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/embedding.h"
#include "sieve/ops/linear.h"
#include "sieve/ops/norm.h"

namespace sieve::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, double init_std, core::Rng& rng)
    : in_features_(in_features), out_features_(out_features) {
  weight_ = register_parameter("weight", normal_tensor({out_features, in_features}, init_std, rng));
  if (bias) bias_ = register_parameter("bias", Tensor::zeros({out_features}));
}

Tensor Linear::forward(const Tensor& x) const {
  Tensor y;
  if (weight_format_ == nullptr) {
    y = ops::linear(x, weight_, bias_);
  } else {
    y = weight_format_->product(x, weight_);
    if (bias_.defined()) y = ops::add(y, bias_);
  }
  if (adapter_ != nullptr && !adapter_->merged()) y = adapter_->add_update(x, y, training());
  return y;
}

void Linear::set_weight_format(std::shared_ptr<const LinearWeightFormat> format, bool release_weight) {
  SIEVE_CHECK(format != nullptr || weight_.defined(), "this Linear's f32 weight was released: it needs a weight format");
  weight_format_ = std::move(format);
  if (release_weight && weight_.defined()) {
    SIEVE_CHECK(weight_format_ != nullptr, "releasing a Linear's weight needs a format to replace it");
    unregister_parameter("weight");
    weight_ = Tensor();
  }
}

void Linear::attach_adapter(std::shared_ptr<LoraAdapter> adapter) {
  SIEVE_CHECK(adapter_ == nullptr, "this Linear already has an adapter");
  SIEVE_CHECK(adapter->in_features() == in_features() && adapter->out_features() == out_features(),
              "adapter shape {}x{} does not fit a {}x{} Linear", adapter->out_features(), adapter->in_features(),
              out_features(), in_features());
  register_module("lora_A", adapter->a());
  register_module("lora_B", adapter->b());
  adapter_ = std::move(adapter);
}

Embedding::Embedding(std::int64_t vocab, std::int64_t channels, double init_std, core::Rng& rng) {
  weight_ = register_parameter("weight", normal_tensor({vocab, channels}, init_std, rng));
}

Tensor Embedding::forward(const Tensor& ids) const { return ops::embedding(weight_, ids); }

RMSNorm::RMSNorm(std::int64_t channels, float eps) : eps_(eps) {
  weight_ = register_parameter("weight", Tensor::ones({channels}));
}

Tensor RMSNorm::forward(const Tensor& x) const { return ops::rms_norm(x, weight_, eps_); }

LayerNorm::LayerNorm(std::int64_t channels, float eps, bool bias) : eps_(eps) {
  weight_ = register_parameter("weight", Tensor::ones({channels}));
  if (bias) bias_ = register_parameter("bias", Tensor::zeros({channels}));
}

Tensor LayerNorm::forward(const Tensor& x) const { return ops::layer_norm(x, weight_, bias_, eps_); }

SwiGluMlp::SwiGluMlp(std::int64_t channels, std::int64_t hidden, double init_std, double down_init_std,
                     core::Rng& rng) {
  gate_proj_ = register_module("gate_proj", std::make_shared<Linear>(channels, hidden, false, init_std, rng));
  up_proj_ = register_module("up_proj", std::make_shared<Linear>(channels, hidden, false, init_std, rng));
  down_proj_ = register_module("down_proj", std::make_shared<Linear>(hidden, channels, false, down_init_std, rng));
}

Tensor SwiGluMlp::forward(const Tensor& x) const {
  return down_proj_->forward(ops::swiglu(gate_proj_->forward(x), up_proj_->forward(x)));
}

}  // namespace sieve::nn
