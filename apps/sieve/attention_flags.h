// The attention flags shared by train, eval, generate and bench: --attention and the sparse
// knobs. Each given flag overrides the model's config.json "attention" section; values out of
// range are UserErrors naming the flag.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "sieve/nn/models/llama_config.h"

namespace sieve::apps {

struct AttentionFlags {
  std::optional<std::string> attention;  // dense | local | sparse
  std::optional<double> threshold;       // --dynamic-sparse-threshold
  std::optional<double> keep_ratio;      // --sparse-keep-ratio
  std::optional<std::int64_t> window;    // --sparse-window
  std::optional<std::int64_t> global_cap;  // --sparse-global-cap
  std::optional<std::int64_t> lsh_keys;    // --sparse-chunk
  std::optional<std::int64_t> lsh_rounds;  // --sparse-lsh-rounds
  std::optional<std::int64_t> dense_below;  // --sparse-dense-below

  bool any_given() const {
    return attention || threshold || keep_ratio || window || global_cap || lsh_keys || lsh_rounds || dense_below;
  }
};

void add_attention_flags(CLI::App* command, AttentionFlags& flags);
// Validates the given flags (UserError naming the flag) and writes them into `config`.
void apply_attention_flags(const AttentionFlags& flags, nn::AttentionConfig& config);

}  // namespace sieve::apps
