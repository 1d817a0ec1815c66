#include "apps/sieve/attention_flags.h"

#include "sieve/core/error.h"

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
                      "Sparse/local: shorter sequences use the dense kernel (default 2560)");
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

}  // namespace sieve::apps
