// Shared fixtures for the training tests: the tiny model, random-token shards in a scratch
// directory, and tensor comparisons.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sieve/core/rng.h"
#include "sieve/data/token_shard.h"
#include "sieve/nn/models/llama.h"
#include "sieve/nn/models/presets.h"
#include "sieve/train/trainer.h"
#include "temp_dir.h"

namespace sieve::train::testing {

inline constexpr int kVocab = 512;  // the tiny preset's

inline std::vector<std::int32_t> random_tokens(std::size_t count, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<std::int32_t> tokens(count);
  for (auto& t : tokens) t = static_cast<std::int32_t>(rng.below(kVocab));
  return tokens;
}

// train.bin and val.bin of random tokens under `dir`.
struct Shards {
  std::filesystem::path train, val;
};
inline Shards write_shards(const std::filesystem::path& dir) {
  Shards shards{dir / "train.bin", dir / "val.bin"};
  data::write_token_shard(shards.train, random_tokens(6000, 11), kVocab, -1);
  data::write_token_shard(shards.val, random_tokens(1000, 12), kVocab, -1);
  return shards;
}

inline nn::LlamaForCausalLM tiny_model() { return nn::LlamaForCausalLM(nn::preset_config("tiny"), 5); }

// Small, fast defaults: 2 × 16-token rows per micro-batch, a short warmup.
inline TrainerOptions small_options(std::int64_t steps) {
  TrainerOptions options;
  options.steps = steps;
  options.batch = 2;
  options.context = 16;
  options.schedule.peak_lr = 1e-3f;
  options.schedule.min_lr = 1e-4f;
  options.schedule.warmup_steps = 2;
  options.eval_windows = 2;
  options.log_interval = 1;
  return options;
}

// Copies of every parameter's values.
inline std::vector<std::vector<float>> snapshot(const nn::Module& model) {
  std::vector<std::vector<float>> out;
  for (const auto& p : model.parameters()) out.push_back(p.to_vector());
  return out;
}

// ‖a − b‖ / ‖a‖ (0 when both are zero).
inline double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(a[i]) * a[i];
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

}  // namespace sieve::train::testing
