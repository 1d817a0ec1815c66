// Which units a pruned model keeps (units: compress/prune/importance.h), chosen from their
// importance either per layer (--heads N --ffn-keep R --layers L) or for a FLOP budget
// (--target-flops F), and the forward FLOPs a config implies.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sieve/compress/prune/importance.h"
#include "sieve/nn/models/llama_config.h"

namespace sieve::compress {

struct PrunePlan {
  std::vector<std::int64_t> layers;                   // kept layers of the source, ascending
  std::vector<std::vector<std::int64_t>> head_groups;  // per kept layer: kept kv heads, ascending
  std::vector<std::vector<std::int64_t>> channels;     // per kept layer: kept MLP channels, ascending
};

// Forward FLOPs (2 per multiply-add) of one sequence of `tokens` tokens: the q/k/v/o and MLP
// projections, causal attention scores and weighted values (dense: T(T+1)/2 pairs a head, also
// for local / sparse layers) and the output head. Norms, RoPE and softmax are not counted.
double forward_flops(const nn::LlamaConfig& config, std::int64_t tokens);

// Every unit of `config` kept.
PrunePlan full_plan(const nn::LlamaConfig& config);

struct FixedPruneTargets {
  std::optional<std::int64_t> heads{};   // query heads kept per layer (a multiple of H / Hkv)
  std::optional<double> ffn_keep{};      // share of MLP channels kept per layer, (0, 1]
  std::optional<std::int64_t> layers{};  // decoder layers kept
};

// Per layer the most important units: the `layers` most important layers, in each the
// heads / (H / Hkv) most important groups and round(ffn_keep · I) (at least 1) channels. Unset
// targets keep everything. Out-of-range targets are a UserError naming the flag.
PrunePlan plan_fixed(const nn::LlamaConfig& config, const UnitImportance& importance, const FixedPruneTargets& targets);

// Keeps `keep_layers` layers (all when unset) as plan_fixed does, then removes head groups and
// channels in one global greedy order until the model's forward FLOPs at its context length
// (max_position_embeddings tokens) are at most `fraction` of the unpruned model's. The order is
// importance share per FLOP share: a unit's importance over its pool's total divided by its
// FLOPs over its pool's total, least first, so one threshold of relative importance cuts every
// pool. A pool is a unit type (head groups, channels) over all kept layers when the criterion's
// scores compare across layers (UnitImportance::comparable_across_layers), else a type within
// one layer. Each kept layer keeps at least one group and one channel; a fraction below what
// that leaves is a UserError.
PrunePlan plan_for_flops(const nn::LlamaConfig& config, const UnitImportance& importance, double fraction,
                         std::optional<std::int64_t> keep_layers);

}  // namespace sieve::compress
