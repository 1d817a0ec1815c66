#include "sieve/compress/prune/prune_plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sieve/core/error.h"

namespace sieve::compress {
namespace {

// The indices of the `keep` largest scores, ascending (ties: the lower index stays).
std::vector<std::int64_t> top_indices(const std::vector<double>& scores, std::int64_t keep) {
  std::vector<std::int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return scores[static_cast<std::size_t>(a)] > scores[static_cast<std::size_t>(b)];
  });
  order.resize(static_cast<std::size_t>(keep));
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<std::int64_t> all_indices(std::int64_t n) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(n));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

// Query heads per key/value head in layer `l`.
std::int64_t query_group_size(const nn::LlamaConfig& c, std::int64_t l) { return c.heads(l) / c.kv_heads(l); }

double head_flops(const nn::LlamaConfig& c, std::int64_t tokens) {
  return 2.0 * static_cast<double>(tokens) * static_cast<double>(c.hidden_size) * static_cast<double>(c.vocab_size);
}

// One key/value head group of layer `l`: its q, k, v rows and o columns, its attention.
double group_flops(const nn::LlamaConfig& c, std::int64_t l, std::int64_t tokens) {
  const double T = static_cast<double>(tokens), C = static_cast<double>(c.hidden_size),
               D = static_cast<double>(c.head_dim()), G = static_cast<double>(query_group_size(c, l));
  return 2.0 * T * C * D * (2.0 * G + 2.0)  // q, o; k, v
         + 2.0 * G * D * T * (T + 1.0);     // q·k and p·v over T(T+1)/2 causal pairs
}

double channel_flops(const nn::LlamaConfig& c, std::int64_t tokens) {
  return 6.0 * static_cast<double>(tokens) * static_cast<double>(c.hidden_size);  // gate, up, down
}

double layer_flops(const nn::LlamaConfig& c, std::int64_t l, std::int64_t tokens) {
  return static_cast<double>(c.kv_heads(l)) * group_flops(c, l, tokens) +
         static_cast<double>(c.intermediate(l)) * channel_flops(c, tokens);
}

void check_importance(const nn::LlamaConfig& c, const UnitImportance& importance) {
  SIEVE_CHECK(static_cast<std::int64_t>(importance.layers.size()) == c.num_hidden_layers &&
                  static_cast<std::int64_t>(importance.head_groups.size()) == c.num_hidden_layers &&
                  static_cast<std::int64_t>(importance.channels.size()) == c.num_hidden_layers,
              "importance of {} layers for a model of {}", importance.layers.size(), c.num_hidden_layers);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l)
    SIEVE_CHECK(static_cast<std::int64_t>(importance.head_groups[l].size()) == c.kv_heads(l) &&
                    static_cast<std::int64_t>(importance.channels[l].size()) == c.intermediate(l),
                "importance of layer {} does not match its widths", l);
}

// The most important `keep` layers (all when unset), with every unit of each.
PrunePlan keep_layers(const nn::LlamaConfig& c, const UnitImportance& importance, std::optional<std::int64_t> keep) {
  if (keep)
    SIEVE_USER_CHECK(*keep >= 1 && *keep <= c.num_hidden_layers,
                     "--layers {}: a model of {} decoder layers keeps between 1 and {} of them", *keep,
                     c.num_hidden_layers, c.num_hidden_layers);
  PrunePlan plan;
  plan.layers = keep ? top_indices(importance.layers, *keep) : all_indices(c.num_hidden_layers);
  for (const std::int64_t l : plan.layers) {
    plan.head_groups.push_back(all_indices(c.kv_heads(l)));
    plan.channels.push_back(all_indices(c.intermediate(l)));
  }
  return plan;
}

}  // namespace

double forward_flops(const nn::LlamaConfig& c, std::int64_t tokens) {
  double flops = head_flops(c, tokens);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) flops += layer_flops(c, l, tokens);
  return flops;
}

PrunePlan full_plan(const nn::LlamaConfig& config) {
  PrunePlan plan;
  plan.layers = all_indices(config.num_hidden_layers);
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    plan.head_groups.push_back(all_indices(config.kv_heads(l)));
    plan.channels.push_back(all_indices(config.intermediate(l)));
  }
  return plan;
}

PrunePlan plan_fixed(const nn::LlamaConfig& c, const UnitImportance& importance, const FixedPruneTargets& targets) {
  check_importance(c, importance);
  if (targets.heads)
    SIEVE_USER_CHECK(*targets.heads >= 1,
                     "--heads {} removes every attention head of every layer (keep at least one key/value group)",
                     *targets.heads);
  if (targets.ffn_keep)
    SIEVE_USER_CHECK(std::isfinite(*targets.ffn_keep) && *targets.ffn_keep > 0.0 && *targets.ffn_keep <= 1.0,
                     "--ffn-keep {} must be a share of MLP channels in (0, 1]", *targets.ffn_keep);
  PrunePlan plan = keep_layers(c, importance, targets.layers);
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const std::int64_t l = plan.layers[i];
    if (targets.heads) {
      const std::int64_t G = query_group_size(c, l);
      SIEVE_USER_CHECK(*targets.heads <= c.heads(l), "--heads {}: layer {} has only {} attention heads",
                       *targets.heads, l, c.heads(l));
      SIEVE_USER_CHECK(*targets.heads % G == 0,
                       "--heads {}: layer {} groups {} query heads per key/value head (GQA) and pruning removes "
                       "whole groups, so --heads must be a multiple of {}",
                       *targets.heads, l, G, G);
      plan.head_groups[i] = top_indices(importance.head_groups[l], *targets.heads / G);
    }
    if (targets.ffn_keep) {
      const auto keep = std::max<std::int64_t>(
          1, std::llround(*targets.ffn_keep * static_cast<double>(c.intermediate(l))));
      plan.channels[i] = top_indices(importance.channels[l], keep);
    }
  }
  return plan;
}

PrunePlan plan_for_flops(const nn::LlamaConfig& c, const UnitImportance& importance, double fraction,
                         std::optional<std::int64_t> layers) {
  check_importance(c, importance);
  SIEVE_USER_CHECK(std::isfinite(fraction) && fraction > 0.0 && fraction <= 1.0,
                   "--target-flops {} must be the share of forward FLOPs to keep, in (0, 1]", fraction);
  PrunePlan plan = keep_layers(c, importance, layers);
  const std::int64_t T = c.max_position_embeddings;
  const double total = forward_flops(c, T), budget = fraction * total;

  struct Unit {
    std::size_t layer;  // index into plan.layers
    std::int64_t index;
    bool group;
    double priority = 0.0;  // its importance, then its importance share per FLOP share
    double flops = 0.0;
  };
  std::vector<Unit> units;
  // Importance and FLOPs of each pool: [type][layer], or [type][0] when scores compare across layers.
  const bool global = importance.comparable_across_layers;
  std::vector<std::vector<double>> pool_importance(2, std::vector<double>(plan.layers.size(), 0.0));
  std::vector<std::vector<double>> pool_flops = pool_importance;
  const auto pool = [&](const Unit& u) { return std::pair<std::size_t, std::size_t>{u.group ? 0 : 1, global ? 0 : u.layer}; };
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const std::int64_t l = plan.layers[i];
    for (std::int64_t g = 0; g < c.kv_heads(l); ++g)
      units.push_back({i, g, true, importance.head_groups[l][g], group_flops(c, l, T)});
    for (std::int64_t ch = 0; ch < c.intermediate(l); ++ch)
      units.push_back({i, ch, false, importance.channels[l][ch], channel_flops(c, T)});
  }
  for (const Unit& u : units) {
    const auto [type, layer] = pool(u);
    pool_importance[type][layer] += u.priority;
    pool_flops[type][layer] += u.flops;
  }
  // Importance share / FLOP share. A pool with no importance at all (every unit dead) goes first.
  for (Unit& u : units) {
    const auto [type, layer] = pool(u);
    const double total = pool_importance[type][layer];
    u.priority = total > 0.0 ? (u.priority / total) / (u.flops / pool_flops[type][layer]) : 0.0;
  }
  std::stable_sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) { return a.priority < b.priority; });

  double flops = head_flops(c, T);
  for (const std::int64_t l : plan.layers) flops += layer_flops(c, l, T);
  std::vector<std::int64_t> groups_left(plan.layers.size()), channels_left(plan.layers.size());
  std::vector<std::vector<bool>> group_removed(plan.layers.size()), channel_removed(plan.layers.size());
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    groups_left[i] = c.kv_heads(plan.layers[i]);
    channels_left[i] = c.intermediate(plan.layers[i]);
    group_removed[i].assign(static_cast<std::size_t>(groups_left[i]), false);
    channel_removed[i].assign(static_cast<std::size_t>(channels_left[i]), false);
  }
  for (const Unit& u : units) {
    if (flops <= budget) break;
    std::int64_t& left = u.group ? groups_left[u.layer] : channels_left[u.layer];
    if (left == 1) continue;  // a kept layer keeps one group and one channel
    --left;
    (u.group ? group_removed : channel_removed)[u.layer][static_cast<std::size_t>(u.index)] = true;
    flops -= u.flops;
  }
  SIEVE_USER_CHECK(flops <= budget * (1.0 + 1e-12),
                   "--target-flops {} is below what this model can keep: one key/value head group and one MLP "
                   "channel in each of its {} kept layers plus the output head is {:.4f} of its forward FLOPs; keep "
                   "fewer layers (--layers) or raise the target",
                   fraction, plan.layers.size(), flops / total);
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    plan.head_groups[i].clear();
    plan.channels[i].clear();
    for (std::size_t g = 0; g < group_removed[i].size(); ++g)
      if (!group_removed[i][g]) plan.head_groups[i].push_back(static_cast<std::int64_t>(g));
    for (std::size_t ch = 0; ch < channel_removed[i].size(); ++ch)
      if (!channel_removed[i][ch]) plan.channels[i].push_back(static_cast<std::int64_t>(ch));
  }
  return plan;
}

}  // namespace sieve::compress
