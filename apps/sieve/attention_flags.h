// The attention flags shared by train, eval, generate and bench: --attention and the sparse
// knobs. Each given flag overrides the model's config.json "attention" section; values out of
// range are UserErrors naming the flag. Also the start-up line that says how a model's sparse
// layers run (NOTE [Sparse layer mode] in nn/attention/sparse.cpp), in one place for every verb.
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

// The line to print at start-up when `config`'s sparse (scorer) layers compute dense attention
// (its context is below dense_below), naming `dense_below_source` (the flag or file that set it)
// and saying the scorers are unused; empty when there are no such layers or they run sparse.
std::string sparse_mode_note(const nn::LlamaConfig& config, const std::string& dense_below_source);

// For a new model about to be trained: when its sparse layers would compute dense attention only
// because dense_below was left at its default (`dense_below_source` empty), sets dense_below to 0
// so they train sparse — the saved config keeps it — and returns the line saying so; otherwise
// sparse_mode_note's line.
std::string settle_new_sparse_model(nn::LlamaConfig& config, const std::string& dense_below_source);

}  // namespace sieve::apps
