// LoRA (Hu et al., 2021): a frozen Linear W [M, K] plus a trainable low-rank update,
//   y = x·Wᵀ (+ bias) + (alpha / r) · dropout(x)·Aᵀ·Bᵀ,   A [r, K], B [M, r].
// B starts at zero, so an adapted model computes exactly what the base model computes until the
// first update. Parameter names follow PEFT: "<linear path>.lora_A.weight" and
// "<linear path>.lora_B.weight".
// Letters: N tokens (any leading dims), K in features, M out features, r rank.
//
// NOTE [LoRA target patterns]: `targets` is a comma-separated list; each entry must select at
// least one Linear or apply_lora throws a UserError naming the entry.
//   attn, attn.*, attention, self_attn   the attention projections (q_proj, k_proj, v_proj, o_proj)
//                                        only: never a sparse layer's importance scorer
//   mlp                                  the MLP projections (gate_proj, up_proj, down_proj)
//   all-linear                           every Linear except the output head (lm_head) and the
//                                        scorers' S→1 output layers
//   sparse_attention                     the Linears of the sparse-attention layers: q/k/v/o
//                                        and the importance scorer's input projection (its
//                                        S→1 output layer is too narrow for a low-rank update)
//   anything else                        a glob: `*` matches any run of characters (dots
//                                        included), `?` one character. It selects a Linear if it
//                                        matches a run of whole dot-separated components of the
//                                        Linear's path, e.g. for "model.layers.0.self_attn.q_proj":
//                                        "q_proj", "self_attn.q_proj", "layers.0", "*_proj",
//                                        "model.layers.0.*" all match; "proj" and "layers.1" don't.
//                                        So a module name selects every Linear inside it.
// A selected Linear whose narrow side is below the rank (a scorer's 1-wide output layer, picked
// by a glob) cannot take the update: apply_lora throws a UserError naming it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/nn/layers.h"

namespace sieve::nn {

struct LoraOptions {
  std::int64_t rank = 8;
  double alpha = 16.0;       // the update is scaled by alpha / rank
  float dropout = 0.0f;      // on the adapter's input only, in training mode
  std::string targets = "attn";  // see NOTE [LoRA target patterns]
  std::uint64_t seed = 0;    // initialisation of A and the dropout masks
};

class LoraAdapter {
 public:
  // A [r, K] ~ U(−1/√K, 1/√K) (PyTorch's Kaiming-uniform default for a Linear, as PEFT uses);
  // B [M, r] = 0.
  LoraAdapter(std::int64_t in_features, std::int64_t out_features, const LoraOptions& options, core::Rng& rng);

  // base_out [..., M] + scale · B(A(dropout(x))) for x [..., K]; dropout only when `training`,
  // with a fresh mask per call from a per-adapter counter. The counter is not part of a
  // checkpoint, so with dropout > 0 a resumed run draws other masks than an uninterrupted one.
  Tensor add_update(const Tensor& x, const Tensor& base_out, bool training) const;

  // W += scale·B·A (merge) and W −= scale·B·A (unmerge) on the host's weight [M, K], in place.
  // The same f32 delta is added and subtracted, so a round trip is exact up to one rounding
  // of W + delta. While merged the host's forward skips the adapter.
  void merge_into(const Tensor& weight);
  void unmerge_from(const Tensor& weight);
  bool merged() const { return merged_; }
  // scale·B·A [M, K] (f32, summed in f64): what a merge adds to the host's weight.
  Tensor delta() const;

  const std::shared_ptr<Linear>& a() const { return a_; }  // weight [r, K]
  const std::shared_ptr<Linear>& b() const { return b_; }  // weight [M, r]
  std::int64_t rank() const { return rank_; }
  float scale() const { return scale_; }
  std::int64_t in_features() const { return a_->in_features(); }
  std::int64_t out_features() const { return b_->out_features(); }

 private:
  std::shared_ptr<Linear> a_, b_;
  std::int64_t rank_;
  float scale_;
  float dropout_;
  std::uint64_t dropout_seed_;
  mutable std::uint64_t dropout_calls_ = 0;  // a fresh mask per forward
  bool merged_ = false;
};

// The paths of the Linears in `root` that `targets` selects, in module order. Adapter factors
// (lora_A / lora_B) are never targets. Throws core::UserError for an empty list or an entry that
// selects nothing.
std::vector<std::string> lora_target_paths(const Module& root, const std::string& targets);

// Freezes every parameter of `root` (requires_grad false) and attaches an adapter to each
// selected Linear; returns the adapted paths. A selected Linear that already has an adapter, or
// is narrower than the rank, is a UserError. Adapters are initialised in path order from options.seed.
std::vector<std::string> apply_lora(Module& root, const LoraOptions& options);

// Merges (unmerges) every adapter of `root` that is not (is) merged yet.
void merge_lora(Module& root);
void unmerge_lora(Module& root);

// True for "<path>.lora_A.weight" / "<path>.lora_B.weight".
bool is_lora_parameter(std::string_view name);
// The adapter parameters of `root` (name, tensor), in module order.
NamedTensors lora_parameters(const Module& root);

// "trainable parameters: 147,456 of 17,188,864 (0.858%)" for `root`'s requires_grad share.
std::string trainable_share_line(const Module& root);

}  // namespace sieve::nn
