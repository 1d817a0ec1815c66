// Dynamic sparse attention (docs/sparse-attention.md): q, k, v projections and RoPE as in dense
// attention, then the sparse kernel over a local window, global tokens chosen by a light CNN
// scorer, and LSH buckets. A "local" layer is the same module with the global and LSH branches
// off. What a layer computes is fixed by the model's config (NOTE [Sparse layer mode] in
// sparse.cpp): see sparse_layers_run_dense.
// Letters: B batch, T tokens, C channels, S scorer channels, K scorer kernel, H heads, Hkv kv
// heads, D head dim.
#pragma once

#include "sieve/nn/attention/attention.h"
#include "sieve/kernels/cpu/attention_causal.h"
#include "sieve/kernels/cpu/sparse_attention.h"
#include "sieve/nn/layers.h"
#include "sieve/ops/sparse_attention.h"

namespace sieve::nn {

// Scores every token's importance from the layer input: two depthwise-separable causal
// convolutions, x [B, T, C] → depthwise(C, K) → pointwise C→S → SiLU → depthwise(S, K) →
// pointwise S→1 → s [B, T]. Causal: s_t reads inputs t−2(K−1) .. t only.
class ImportanceScorer : public Module {
 public:
  ImportanceScorer(std::int64_t channels, std::int64_t hidden, std::int64_t kernel, core::Rng& rng);
  Tensor forward(const Tensor& x) const;  // [B, T, C] → [B, T]
  // How many earlier inputs a score reads: s_t depends on x_{t − receptive_field() + 1 .. t}.
  std::int64_t receptive_field() const { return 2 * (conv1_weight_.size(1) - 1) + 1; }

 private:
  Tensor conv1_weight_, conv1_bias_, conv2_weight_, conv2_bias_;
  std::shared_ptr<Linear> proj1_, out_;
};

// Whether the scorer ("sparse") layers of a model with `config` compute dense attention: its
// context (max_position_embeddings) is below attention.dense_below, the length below which
// sparse attention does not pay off. A property of the model, never of a call's length: such a
// model's scorers are unused (and get no gradient from the LM loss). Local layers always compute
// their window.
bool sparse_layers_run_dense(const LlamaConfig& config);

// With a KV cache (generation), each new token attends to exactly the keys the full forward
// would give it — window, global list, bucket members — found through an incremental index, so
// a step costs O(W + G + R·C), not O(T) (NOTE [Sparse decoding] in sparse.cpp). The LSH bucket
// count is fixed per model (from max_position_embeddings when automatic) so that decoding and
// the full forward hash alike.
class SparseAttention : public Attention {
 public:
  // local_only: the "local" kind (window only).
  SparseAttention(const LlamaConfig& config, bool local_only, std::int64_t layer, core::Rng& rng);
  Tensor forward(const Tensor& x, LayerKvCache* cache) const override;

  const ImportanceScorer* scorer() const { return scorer_.get(); }
  const ops::SparseAttentionParams& params() const { return params_; }

  // τ leaves the parameters alone, so a trained model can be swept over it.
  void set_threshold(float threshold);

  // Quality of the key sets: with measurement on, every sparse forward (no cache) adds, for each
  // query and head, the share of its dense attention mass that its sparse key set covers —
  // exp(lse_sparse − lse_dense) with the global bias left out, 1 when nothing is dropped.
  struct Coverage {
    double sum = 0.0;
    std::int64_t queries = 0;  // query × head pairs measured
    double mean() const { return queries > 0 ? sum / static_cast<double>(queries) : 0.0; }
  };
  void set_measure_coverage(bool on) { measure_coverage_ = on; }
  const Coverage& coverage() const { return coverage_; }
  void reset_coverage() { coverage_ = {}; }

  // Scorer warm-up by distillation (NOTE [Scorer distillation] in sparse.cpp). With weight > 0,
  // every forward without a KV cache made while collecting adds
  //   weight · BCE-with-logits(scorer(x.detach())[:, :T−W], y)
  // to the collected loss, where y [B, T−W] is scorer_distillation_target(x): the scorer alone
  // gets its gradient. Sequences of T <= W add nothing (no key has a query W tokens later).
  // 0 turns it off; local layers (no scorer) ignore it. A negative or non-finite weight throws
  // core::UserError.
  void set_scorer_distillation(float weight);
  float scorer_distillation() const { return distill_weight_; }
  // Emphasis α >= 0 on the keys distant queries need: each key's BCE term is weighted by
  // 1 + α·y² (a weighted mean), so a rare key with y ≈ 1 is not drowned by the many filler keys
  // (NOTE [Scorer distillation]). 0 (the default): the plain mean. Negative or non-finite throws
  // core::UserError.
  void set_scorer_distill_emphasis(float alpha);
  float scorer_distill_emphasis() const { return distill_emphasis_; }
  // Collecting is what LlamaForCausalLM::loss opens around a training forward. begin opens it
  // only when grad mode is on (a validation or other no-grad forward never collects); forwards
  // in between add their losses (the scorer's graph is built even where the forward itself runs
  // with grad off, as inside an activation checkpoint); end closes it and returns the sum —
  // undefined when nothing was added. A block recomputed in backward runs after end: it adds
  // nothing.
  void begin_scorer_distillation() const;
  Tensor end_scorer_distillation() const;
  // The distillation target y [B, T−W] in [0, 1] for layer inputs x [B, T, C] (undefined when
  // T <= W), computed without grad from this layer's own q and k.
  Tensor scorer_distillation_target(const Tensor& x) const;

  // Dense-to-sparse blend for training (NOTE [Dense blend] in sparse.cpp): with share a in
  // (0, 1], a forward without a KV cache that would run the sparse kernel returns
  //   a · dense attention + (1 − a) · sparse attention
  // (both differentiable), so a model can move from dense to sparse attention gradually as a
  // trainer anneals a to 0. 0 (the default) is plain sparse attention; decoding ignores it.
  // A share outside [0, 1] or non-finite throws core::UserError.
  void set_dense_blend(float share);
  float dense_blend() const { return dense_share_; }

 private:
  // scores (detached) and key_bias [B, T] for inputs x [B, T, C].
  std::pair<Tensor, Tensor> score(const Tensor& x) const;
  Tensor sparse_forward(const Tensor& x, const Tensor& q, const Tensor& k, const Tensor& v) const;
  Tensor decode(const Tensor& x, const Tensor& q, LayerKvCache& cache, std::int64_t position) const;
  kernels::cpu::SparseAttentionShape kernel_shape(std::int64_t batch, std::int64_t tokens) const;
  // The fused dense kernel's shape for the same heads (coverage and distillation compare with it).
  kernels::cpu::CausalAttentionShape dense_shape(std::int64_t batch, std::int64_t tokens) const;
  void measure_coverage(const Tensor& scores, const Tensor& q, const Tensor& k, const Tensor& v) const;
  // q [B, T, H, D], k [B, T, Hkv, D] (after RoPE) → y [B, T−W], or undefined when T <= W.
  Tensor distillation_target(const Tensor& q, const Tensor& k) const;
  void add_distillation_loss(const Tensor& x, const Tensor& q, const Tensor& k) const;

  std::int64_t heads_, kv_heads_, head_dim_;
  float rope_theta_;
  bool local_only_;
  bool dense_;  // a scorer layer of a model that runs them dense (sparse_layers_run_dense)
  std::uint64_t rotation_seed_;
  ops::SparseAttentionParams params_;  // lsh_buckets fixed (see above)
  Tensor rotations_;                   // [R, Hkv, D, NBk / 2], fixed random rotations (not trained)
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, o_proj_;
  std::shared_ptr<ImportanceScorer> scorer_;  // null for local layers
  // β: key_bias = β · log σ(s). Zero at initialisation, so a fresh layer whose sets cover every
  // key equals dense attention; the loss grows it, and through it trains the scorer.
  Tensor global_bias_scale_;
  bool measure_coverage_ = false;
  mutable Coverage coverage_;
  float distill_weight_ = 0.0f;
  float distill_emphasis_ = 0.0f;
  mutable bool distill_collecting_ = false;
  mutable Tensor distill_loss_;  // the sum collected since begin_scorer_distillation
  float dense_share_ = 0.0f;
};

}  // namespace sieve::nn
