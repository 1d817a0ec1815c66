#include "apps/sieve/attention_flags.h"

#include <fmt/format.h>

#include "sieve/core/error.h"
#include "sieve/nn/attention/sparse.h"

namespace sieve::apps {

void add_attention_flags(CLI::App* command, AttentionFlags& flags) {
  command->add_option("--attention", flags.attention, "Attention of every layer: dense, local or sparse");
  command->add_option("--dynamic-sparse-threshold", flags.threshold,
                      "Sparse: a token becomes global when sigmoid(score) >= this, in [0, 1] (default 0.3)");
  command->add_option("--sparse-keep-ratio", flags.keep_ratio,
                      "Sparse: keep this share of tokens as global instead of thresholding, in (0, 1]");
  command->add_option("--sparse-window", flags.window, "Sparse/local: dense causal window, >= 64 (default 256)");
  command->add_option("--sparse-global-cap", flags.global_cap, "Sparse: global keys per query, >= 1 (default 256)");
  command->add_option("--sparse-chunk", flags.lsh_keys, "Sparse: same-bucket LSH keys per query, >= 1 (default 64)");
  command->add_option("--sparse-lsh-rounds", flags.lsh_rounds, "Sparse: LSH hash rounds, 0-8 (default 1)");
  command->add_option("--sparse-dense-below", flags.dense_below,
                      "Sparse: a model whose context is below this runs its sparse layers as dense attention "
                      "(default 2560; new models trained sparse get 0 unless it is given)");
}

void apply_attention_flags(const AttentionFlags& flags, nn::AttentionConfig& config) {
  if (flags.attention) {
    SIEVE_USER_CHECK(*flags.attention == "dense" || *flags.attention == "local" || *flags.attention == "sparse",
                     "--attention: unknown kind '{}' (known: dense, local, sparse)", *flags.attention);
    config.type = *flags.attention;
    config.layers.clear();
  }
  if (flags.threshold) {
    SIEVE_USER_CHECK(*flags.threshold >= 0.0 && *flags.threshold <= 1.0,
                     "--dynamic-sparse-threshold must be in [0, 1], got {}", *flags.threshold);
    config.threshold = *flags.threshold;
  }
  if (flags.keep_ratio) {
    SIEVE_USER_CHECK(*flags.keep_ratio > 0.0 && *flags.keep_ratio <= 1.0,
                     "--sparse-keep-ratio must be in (0, 1], got {}", *flags.keep_ratio);
    config.keep_ratio = *flags.keep_ratio;
  }
  if (flags.window) {
    SIEVE_USER_CHECK(*flags.window >= 64, "--sparse-window must be >= 64 (a query block), got {}", *flags.window);
    config.window = *flags.window;
  }
  if (flags.global_cap) {
    SIEVE_USER_CHECK(*flags.global_cap >= 1, "--sparse-global-cap must be >= 1, got {}", *flags.global_cap);
    config.global_cap = *flags.global_cap;
  }
  if (flags.lsh_keys) {
    SIEVE_USER_CHECK(*flags.lsh_keys >= 1, "--sparse-chunk must be >= 1, got {}", *flags.lsh_keys);
    config.lsh_keys = *flags.lsh_keys;
  }
  if (flags.lsh_rounds) {
    SIEVE_USER_CHECK(*flags.lsh_rounds >= 0 && *flags.lsh_rounds <= 8, "--sparse-lsh-rounds must be in [0, 8], got {}",
                     *flags.lsh_rounds);
    config.lsh_rounds = *flags.lsh_rounds;
  }
  if (flags.dense_below) {
    SIEVE_USER_CHECK(*flags.dense_below >= 0, "--sparse-dense-below must be >= 0, got {}", *flags.dense_below);
    config.dense_below = *flags.dense_below;
  }
}

namespace {

bool has_sparse_layers(const nn::LlamaConfig& config) {
  for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer)
    if (config.attention.kind(layer) == "sparse") return true;
  return false;
}

}  // namespace

std::string sparse_mode_note(const nn::LlamaConfig& config, const std::string& dense_below_source) {
  if (!has_sparse_layers(config) || !nn::sparse_layers_run_dense(config)) return {};
  return fmt::format(
      "note: the sparse attention layers run dense attention: the model's context ({}) is below dense_below ({}, "
      "from {}), so their importance scorers are unused and do not learn",
      config.max_position_embeddings, config.attention.dense_below,
      dense_below_source.empty() ? std::string("the default") : dense_below_source);
}

std::string settle_new_sparse_model(nn::LlamaConfig& config, const std::string& dense_below_source) {
  if (!dense_below_source.empty() || !has_sparse_layers(config) || !nn::sparse_layers_run_dense(config))
    return sparse_mode_note(config, dense_below_source);
  const std::int64_t crossover = config.attention.dense_below;
  config.attention.dense_below = 0;
  return fmt::format(
      "note: training the sparse attention layers sparse: the model's context ({}) is below the default "
      "dense_below ({}), where they would run dense attention and their scorers would not learn; dense_below is "
      "set to 0 in the model's config (--sparse-dense-below {} keeps them dense)",
      config.max_position_embeddings, crossover, crossover);
}

}  // namespace sieve::apps
