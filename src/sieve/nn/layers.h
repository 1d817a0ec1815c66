// Basic layers: Linear, Embedding, RMSNorm, LayerNorm, and the SwiGLU MLP.
// Letters: N tokens (any leading dims), K in features, M out features, C channels, V vocab.
#pragma once

#include "sieve/nn/module.h"

namespace sieve::nn {

class LoraAdapter;  // nn/adapters/lora.h

class Linear : public Module {
 public:
  // weight [M, K] ~ N(0, init_std²); bias [M] zeros when `bias`.
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias, double init_std, core::Rng& rng);
  // [..., K] → [..., M]; plus the adapter's low-rank update when one is attached and not merged.
  Tensor forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  std::int64_t in_features() const { return weight_.size(1); }
  std::int64_t out_features() const { return weight_.size(0); }

  // Attaches a LoRA adapter built for this layer's shape; its factors become the children
  // "lora_A" and "lora_B", so their parameters are named "<path>.lora_A.weight" etc.
  // At most one adapter per layer.
  void attach_adapter(std::shared_ptr<LoraAdapter> adapter);
  LoraAdapter* adapter() const { return adapter_.get(); }

 private:
  Tensor weight_;
  Tensor bias_;
  std::shared_ptr<LoraAdapter> adapter_;
};

class Embedding : public Module {
 public:
  Embedding(std::int64_t vocab, std::int64_t channels, double init_std, core::Rng& rng);
  Tensor forward(const Tensor& ids) const;  // int64 [...] → [..., C]
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_;
};

class RMSNorm : public Module {
 public:
  RMSNorm(std::int64_t channels, float eps);
  Tensor forward(const Tensor& x) const;

 private:
  Tensor weight_;
  float eps_;
};

class LayerNorm : public Module {
 public:
  LayerNorm(std::int64_t channels, float eps, bool bias);
  Tensor forward(const Tensor& x) const;

 private:
  Tensor weight_;
  Tensor bias_;
  float eps_;
};

// LLaMA MLP: down(silu(gate(x)) · up(x)), no biases.
class SwiGluMlp : public Module {
 public:
  SwiGluMlp(std::int64_t channels, std::int64_t hidden, double init_std, double down_init_std, core::Rng& rng);
  Tensor forward(const Tensor& x) const;

 private:
  std::shared_ptr<Linear> gate_proj_, up_proj_, down_proj_;
};

}  // namespace sieve::nn
