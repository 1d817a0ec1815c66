// Small models and comparisons shared by the compress tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sieve/core/rng.h"
#include "sieve/core/tensor.h"
#include "sieve/nn/models/llama.h"
#include "sieve/nn/models/presets.h"
#include "small_sparse_config.h"

namespace sieve::compress::testing {

// The tiny preset (C 64, I 160, 2 layers, V 512) with a dense or sparse attention stack.
inline nn::LlamaConfig tiny_config(const std::string& attention = "dense") {
  if (attention == "dense") return nn::preset_config("tiny");
  nn::LlamaConfig config = sieve::testing::small_sparse_config();
  config.attention.type = attention;
  return config;
}

inline core::Tensor random_ids(std::int64_t batch, std::int64_t tokens, std::int64_t vocab, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(batch * tokens));
  for (auto& id : ids) id = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(vocab)));
  return core::Tensor::from_vector(ids, {batch, tokens});
}

inline double max_abs_difference(const core::Tensor& a, const core::Tensor& b) {
  const auto x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  EXPECT_EQ(x.size(), y.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]));
  return worst;
}

// ‖a − b‖ / ‖b‖ over all elements.
inline double relative_error(const core::Tensor& a, const core::Tensor& b) {
  const auto x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  EXPECT_EQ(x.size(), y.size());
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    diff += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    norm += double(y[i]) * y[i];
  }
  return std::sqrt(diff / norm);
}

}  // namespace sieve::compress::testing
