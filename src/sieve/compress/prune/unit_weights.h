// Shared by the importance criteria: a model's parameters by name, and sums of a [M, K] matrix
// of per-weight values over the rows or columns that make up one unit (a head's D rows, a
// channel's one row or column).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/core/tensor.h"
#include "sieve/nn/module.h"

namespace sieve::compress {

using ParameterMap = std::map<std::string, core::Tensor, std::less<>>;

ParameterMap parameters_by_name(const nn::Module& model);

// "model.layers.<layer>.<relative>" of `parameters`.
const core::Tensor& layer_parameter(const ParameterMap& parameters, std::int64_t layer, std::string_view relative);

// values [M, K] (f32, any strides) → [M / block]: the sum over each block of `block` rows.
std::vector<double> row_block_sums(const core::Tensor& values, std::int64_t block);
// values [M, K] → [K / block]: the sum over each block of `block` columns.
std::vector<double> col_block_sums(const core::Tensor& values, std::int64_t block);

// Element-wise w², and |a · b| (same shapes), as contiguous f32 tensors.
core::Tensor squared(const core::Tensor& w);
core::Tensor abs_product(const core::Tensor& a, const core::Tensor& b);

}  // namespace sieve::compress
