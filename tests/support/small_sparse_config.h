// A tiny sparse model for tests whose key sets drop keys from a few hundred tokens on: the tiny
// preset (C 64, 4 heads, 2 kv heads, 2 layers) with window 64, at most 16 global keys, one LSH
// round of 8 buckets and 8-key chunks, τ 0.3, a 16-channel scorer; the sparse kernel always runs.
#pragma once

#include "sieve/nn/models/presets.h"

namespace sieve::testing {

inline nn::LlamaConfig small_sparse_config() {
  nn::LlamaConfig config = nn::preset_config("tiny");
  config.max_position_embeddings = 512;
  config.attention.type = "sparse";
  config.attention.window = 64;
  config.attention.global_cap = 16;
  config.attention.lsh_keys = 8;
  config.attention.lsh_rounds = 1;
  config.attention.lsh_buckets = 8;
  config.attention.threshold = 0.3;
  config.attention.dense_below = 0;
  config.attention.scorer_channels = 16;
  config.attention.scorer_kernel = 3;
  return config;
}

}  // namespace sieve::testing
