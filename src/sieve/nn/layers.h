// Basic layers: Linear, Embedding, RMSNorm, LayerNorm, and the SwiGLU MLP.
// Letters: N tokens (any leading dims), K in features, M out features, C channels, V vocab.
#pragma once

#include <memory>
#include <string>

#include "sieve/nn/module.h"

namespace sieve::nn {

class LoraAdapter;  // nn/adapters/lora.h

// NOTE [Linear weight formats]: a Linear's product x·Wᵀ may run in another format than its f32
// weight: a quantized weight for inference (compress/quantized_linear.h) or fake quantization
// for quantization-aware training (compress/qat.h). The format computes the product without
// the bias; the Linear adds the bias and any unmerged LoRA update on top, so adapters work on a
// quantized base (QLoRA-style).
class LinearWeightFormat {
 public:
  virtual ~LinearWeightFormat() = default;
  // x [..., K] → [..., M]. `weight` is the Linear's f32 weight [M, K], or undefined once the
  // Linear has released it (set_weight_format with release_weight).
  virtual Tensor product(const Tensor& x, const Tensor& weight) const = 0;
  // What `sieve inspect` shows for the layer, e.g. "int8" or "int4 g64".
  virtual std::string describe() const = 0;
  // Bytes the weight takes in this format (scales included).
  virtual std::int64_t weight_bytes() const = 0;
};

class Linear : public Module {
 public:
  // weight [M, K] ~ N(0, init_std²); bias [M] zeros when `bias`.
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias, double init_std, core::Rng& rng);
  // [..., K] → [..., M]; plus the adapter's low-rank update when one is attached and not merged.
  Tensor forward(const Tensor& x) const;
  // The f32 weight [M, K]; undefined once a weight format has released it.
  const Tensor& weight() const { return weight_; }
  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }
  const Tensor& bias() const { return bias_; }

  // Routes the product through `format` (null: back to the f32 weight, which must still be
  // held). With `release_weight` the f32 weight leaves the parameters and is freed (a quantized
  // model keeps only its quantized copy); that cannot be undone.
  void set_weight_format(std::shared_ptr<const LinearWeightFormat> format, bool release_weight);
  const LinearWeightFormat* weight_format() const { return weight_format_.get(); }

  // Attaches a LoRA adapter built for this layer's shape; its factors become the children
  // "lora_A" and "lora_B", so their parameters are named "<path>.lora_A.weight" etc.
  // At most one adapter per layer.
  void attach_adapter(std::shared_ptr<LoraAdapter> adapter);
  LoraAdapter* adapter() const { return adapter_.get(); }

 private:
  std::int64_t in_features_ = 0, out_features_ = 0;
  Tensor weight_;
  Tensor bias_;
  std::shared_ptr<const LinearWeightFormat> weight_format_;
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
