// Quantized weight formats for nn::Linear (NOTE [Linear weight formats] in nn/layers.h): the
// product runs on the INT8 or INT4 kernels of kernels/cpu/quantized_linear.h, whose NOTE
// [Quantization formats] defines the layouts these formats hold. Inference only: a product
// that would need a gradient is a UserError (a quantized base has no backward yet).
// Letters: N rows of x (tokens), K in features, M out features, G the INT4 group size.
#pragma once

#include <memory>

#include "sieve/core/tensor.h"
#include "sieve/kernels/cpu/quantized_linear.h"
#include "sieve/nn/layers.h"

namespace sieve::compress {

using core::Tensor;

// INT8 weights per output channel with INT8 activations, dynamic per token or one static scale.
class Int8LinearFormat final : public nn::LinearWeightFormat {
 public:
  // q i8 [M, K] and scales f32 [M] (> 0); activation.static_scale > 0 when not dynamic. The
  // tensors are kept (they are what a saved model stores) and prepacked once for the GEMM.
  Int8LinearFormat(Tensor q, Tensor scales, kernels::cpu::Int8Activation activation);
  // Quantizes an f32 weight [M, K] (quantize_rows_int8).
  static std::shared_ptr<Int8LinearFormat> from_weight(const Tensor& weight,
                                                       kernels::cpu::Int8Activation activation);

  Tensor product(const Tensor& x, const Tensor& weight) const override;  // x [..., K] → [..., M]
  std::string describe() const override;                                // "int8" or "int8 static"
  std::int64_t weight_bytes() const override;                           // M·K + 4·M (+ 4)

  const Tensor& q() const { return q_; }
  const Tensor& scales() const { return scales_; }
  const kernels::cpu::Int8Activation& activation() const { return activation_; }

 private:
  Tensor q_, scales_;
  kernels::cpu::Int8Activation activation_;
  std::shared_ptr<const kernels::cpu::Int8Weight> packed_;
};

// INT4 weight-only, symmetric per group of G consecutive inputs; x and y stay f32.
class Int4LinearFormat final : public nn::LinearWeightFormat {
 public:
  // packed u8 [M, ceil(K/2)], scales f32 [M, ceil(K/G)] (> 0). `file_scale_dtype` (f32 or f16)
  // is how a saved model stores the scales; with f16 they must already be f16 values, so that
  // saving and loading keeps every product bit for bit.
  Int4LinearFormat(Tensor packed, Tensor scales, std::int64_t K, std::int64_t G, core::DType file_scale_dtype);
  // Quantizes an f32 weight [M, K] (kernels::cpu::quantize_int4); with f16 the scales are
  // rounded to f16 (a relative change below 2^-11, far under the INT4 step).
  static std::shared_ptr<Int4LinearFormat> from_weight(const Tensor& weight, std::int64_t G,
                                                       core::DType file_scale_dtype);

  Tensor product(const Tensor& x, const Tensor& weight) const override;  // x [..., K] → [..., M]
  std::string describe() const override;                                // "int4 g64"
  std::int64_t weight_bytes() const override;  // M·ceil(K/2) + M·ceil(K/G)·(2 or 4)

  const Tensor& packed() const { return packed_; }
  const Tensor& scales() const { return scales_; }
  std::int64_t in_features() const { return K_; }
  std::int64_t group_size() const { return G_; }
  core::DType file_scale_dtype() const { return file_scale_dtype_; }

 private:
  Tensor packed_, scales_;
  std::int64_t K_, G_;
  core::DType file_scale_dtype_;
};

// The group sizes INT4 accepts: multiples of 32 in [kInt4MinGroup, kInt4MaxGroup].
bool is_valid_int4_group_size(std::int64_t G);

}  // namespace sieve::compress
