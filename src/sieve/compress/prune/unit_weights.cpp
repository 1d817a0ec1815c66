#include "sieve/compress/prune/unit_weights.h"

#include <cmath>

#include "sieve/core/error.h"

namespace sieve::compress {

ParameterMap parameters_by_name(const nn::Module& model) {
  ParameterMap out;
  for (const auto& [name, tensor] : model.named_parameters()) out.emplace(name, tensor);
  return out;
}

const core::Tensor& layer_parameter(const ParameterMap& parameters, std::int64_t layer, std::string_view relative) {
  const std::string name = "model.layers." + std::to_string(layer) + "." + std::string(relative);
  const auto it = parameters.find(name);
  SIEVE_CHECK(it != parameters.end(), "the model has no parameter '{}'", name);
  return it->second;
}

std::vector<double> row_block_sums(const core::Tensor& values, std::int64_t block) {
  const core::Tensor v = values.contiguous();
  const std::int64_t M = v.size(0), K = v.size(1);
  SIEVE_CHECK(v.dim() == 2 && M % block == 0, "row_block_sums: {} rows in blocks of {}", M, block);
  std::vector<double> out(static_cast<std::size_t>(M / block), 0.0);
  const float* p = v.data<float>();
  for (std::int64_t m = 0; m < M; ++m) {
    double sum = 0.0;
    for (std::int64_t k = 0; k < K; ++k) sum += p[m * K + k];
    out[static_cast<std::size_t>(m / block)] += sum;
  }
  return out;
}

std::vector<double> col_block_sums(const core::Tensor& values, std::int64_t block) {
  const core::Tensor v = values.contiguous();
  const std::int64_t M = v.size(0), K = v.size(1);
  SIEVE_CHECK(v.dim() == 2 && K % block == 0, "col_block_sums: {} columns in blocks of {}", K, block);
  std::vector<double> columns(static_cast<std::size_t>(K), 0.0);
  const float* p = v.data<float>();
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t k = 0; k < K; ++k) columns[static_cast<std::size_t>(k)] += p[m * K + k];
  std::vector<double> out(static_cast<std::size_t>(K / block), 0.0);
  for (std::int64_t k = 0; k < K; ++k) out[static_cast<std::size_t>(k / block)] += columns[static_cast<std::size_t>(k)];
  return out;
}

core::Tensor squared(const core::Tensor& w) { return abs_product(w, w); }

core::Tensor abs_product(const core::Tensor& a, const core::Tensor& b) {
  SIEVE_CHECK(a.shape() == b.shape(), "abs_product: {} and {}", core::shape_string(a.shape()),
              core::shape_string(b.shape()));
  const core::Tensor x = a.contiguous(), y = b.contiguous();
  core::Tensor out = core::Tensor::empty(x.shape());
  const float* px = x.data<float>();
  const float* py = y.data<float>();
  float* po = out.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) po[i] = std::abs(px[i] * py[i]);
  return out;
}

}  // namespace sieve::compress
