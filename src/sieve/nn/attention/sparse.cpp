#include "sieve/nn/attention/sparse.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "sieve/autograd/grad_mode.h"
#include "sieve/core/error.h"
#include "sieve/kernels/cpu/attention_causal.h"
#include "sieve/kernels/cpu/attention_key_peak.h"
#include "sieve/kernels/cpu/sparse_attention_decode.h"
#include "sieve/kernels/cpu/sparse_attention_plan.h"
#include "sieve/kernels/cpu/sparse_decode_index.h"
#include "sieve/ops/activation.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/attention.h"
#include "sieve/ops/conv1d.h"
#include "sieve/ops/loss.h"
#include "sieve/ops/rope.h"
#include "sieve/ops/shape_ops.h"

namespace sieve::nn {
namespace {

constexpr double kInitStd = 0.02;
// log σ(s) is floored at log(kMinSigmoid) so a token the scorer all but rules out still has a
// finite bias.
constexpr float kMinSigmoid = 1e-6f;

}  // namespace

ImportanceScorer::ImportanceScorer(std::int64_t channels, std::int64_t hidden, std::int64_t kernel, core::Rng& rng) {
  conv1_weight_ = register_parameter("conv1.weight", normal_tensor({channels, kernel}, kInitStd, rng));
  conv1_bias_ = register_parameter("conv1.bias", core::Tensor::zeros({channels}));
  proj1_ = register_module("proj1", std::make_shared<Linear>(channels, hidden, true, kInitStd, rng));
  conv2_weight_ = register_parameter("conv2.weight", normal_tensor({hidden, kernel}, kInitStd, rng));
  conv2_bias_ = register_parameter("conv2.bias", core::Tensor::zeros({hidden}));
  out_ = register_module("out", std::make_shared<Linear>(hidden, 1, true, kInitStd, rng));
}

Tensor ImportanceScorer::forward(const Tensor& x) const {
  const std::int64_t batch = x.size(0), tokens = x.size(1);
  Tensor h = ops::causal_depthwise_conv1d(x, conv1_weight_, conv1_bias_);   // [B, T, C]
  h = ops::silu(proj1_->forward(h));                                        // [B, T, S]
  h = ops::causal_depthwise_conv1d(h, conv2_weight_, conv2_bias_);          // [B, T, S]
  return ops::reshape(out_->forward(h), {batch, tokens});                   // [B, T]
}

bool sparse_layers_run_dense(const LlamaConfig& config) {
  return config.max_position_embeddings < config.attention.dense_below;
}

SparseAttention::SparseAttention(const LlamaConfig& config, bool local_only, std::int64_t layer, core::Rng& rng)
    : heads_(config.heads(layer)),
      kv_heads_(config.kv_heads(layer)),
      head_dim_(config.head_dim()),
      rope_theta_(static_cast<float>(config.rope_theta)),
      local_only_(local_only),
      dense_(!local_only && sparse_layers_run_dense(config)),
      rotation_seed_(0x5eed0000u + static_cast<std::uint64_t>(layer)) {
  const AttentionConfig& a = config.attention;
  params_.window = a.window;
  params_.global_cap = local_only ? 0 : a.global_cap;
  params_.lsh_keys = a.lsh_keys;
  params_.lsh_rounds = local_only ? 0 : a.lsh_rounds;
  params_.lsh_buckets = a.lsh_buckets > 0 ? a.lsh_buckets : ops::lsh_bucket_count(params_, config.max_position_embeddings);
  params_.threshold = static_cast<float>(a.threshold);
  params_.keep_ratio = static_cast<float>(a.keep_ratio);
  const std::int64_t channels = config.hidden_size;
  const double out_std = kInitStd / std::sqrt(2.0 * static_cast<double>(config.num_hidden_layers));
  q_proj_ = register_module("q_proj", std::make_shared<Linear>(channels, heads_ * head_dim_, false, kInitStd, rng));
  k_proj_ = register_module("k_proj", std::make_shared<Linear>(channels, kv_heads_ * head_dim_, false, kInitStd, rng));
  v_proj_ = register_module("v_proj", std::make_shared<Linear>(channels, kv_heads_ * head_dim_, false, kInitStd, rng));
  o_proj_ = register_module("o_proj", std::make_shared<Linear>(heads_ * head_dim_, channels, false, out_std, rng));
  if (params_.lsh_rounds > 0)
    rotations_ = Tensor::from_vector(kernels::cpu::make_lsh_rotations(params_.lsh_rounds, kv_heads_, head_dim_,
                                                                      params_.lsh_buckets, rotation_seed_),
                                     {params_.lsh_rounds, kv_heads_, head_dim_, params_.lsh_buckets / 2});
  if (!local_only) {
    scorer_ = register_module("scorer", std::make_shared<ImportanceScorer>(channels, a.scorer_channels,
                                                                           a.scorer_kernel, rng));
    global_bias_scale_ = register_parameter("global_bias_scale", core::Tensor::zeros({1}));
  }
}

std::pair<Tensor, Tensor> SparseAttention::score(const Tensor& x) const {
  if (!scorer_) {
    const Tensor zeros = Tensor::zeros({x.size(0), x.size(1)});
    return {zeros, zeros};
  }
  const Tensor scores = scorer_->forward(x);  // [B, T]
  const Tensor key_bias =
      ops::mul(ops::log(ops::add_scalar(ops::sigmoid(scores), kMinSigmoid)), global_bias_scale_);  // [B, T]
  return {scores.detach(), key_bias};
}

kernels::cpu::SparseAttentionShape SparseAttention::kernel_shape(std::int64_t batch, std::int64_t tokens) const {
  return ops::sparse_attention_shape(params_, batch, tokens, heads_, kv_heads_, head_dim_,
                                     1.0f / std::sqrt(static_cast<float>(head_dim_)));
}

kernels::cpu::CausalAttentionShape SparseAttention::dense_shape(std::int64_t batch, std::int64_t tokens) const {
  kernels::cpu::CausalAttentionShape dense{};
  dense.batch = batch;
  dense.query_tokens = dense.key_tokens = tokens;
  dense.heads = heads_;
  dense.kv_heads = kv_heads_;
  dense.head_dim = head_dim_;
  dense.scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
  return dense;
}

void SparseAttention::set_threshold(float threshold) {
  SIEVE_USER_CHECK(threshold >= 0.0f && threshold <= 1.0f, "threshold must be in [0, 1], got {}", threshold);
  params_.threshold = threshold;
}

void SparseAttention::measure_coverage(const Tensor& scores, const Tensor& q, const Tensor& k, const Tensor& v) const {
  autograd::NoGradGuard no_grad;
  const std::int64_t batch = q.size(0), tokens = q.size(1);
  const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  const kernels::cpu::SparseAttentionShape shape = kernel_shape(batch, tokens);
  const std::vector<float> no_bias(static_cast<std::size_t>(batch * tokens), 0.0f);
  const kernels::cpu::SparseAttentionPlanData plan = kernels::cpu::build_sparse_attention_plan(
      shape, {.threshold = params_.threshold, .keep_ratio = params_.keep_ratio}, scores.contiguous().data<float>(),
      no_bias.data(), qc.data<float>(), kc.data<float>(), params_.lsh_rounds > 0 ? rotations_.data<float>() : nullptr);
  std::vector<float> out(static_cast<std::size_t>(qc.numel()));
  std::vector<float> sparse_lse(static_cast<std::size_t>(batch * heads_ * tokens));
  std::vector<float> dense_lse(sparse_lse.size());
  kernels::cpu::sparse_attention_forward(core::DType::f32, shape, plan.view(), qc.raw_data(), kc.raw_data(),
                                         vc.raw_data(), out.data(), sparse_lse.data());
  const kernels::cpu::CausalAttentionShape dense = dense_shape(batch, tokens);
  kernels::cpu::attention_causal_forward(core::DType::f32, dense, qc.raw_data(), kc.raw_data(), vc.raw_data(),
                                         out.data(), dense_lse.data());
  for (std::size_t i = 0; i < sparse_lse.size(); ++i) coverage_.sum += std::exp(sparse_lse[i] - dense_lse[i]);
  coverage_.queries += static_cast<std::int64_t>(sparse_lse.size());
}

// NOTE [Scorer distillation]: the scorer otherwise learns only through the bias β·log σ(s) on
// the global keys' logits, and β starts at 0, so early in training it gets almost no signal and
// picks global tokens at random — and a token it never picks gets no gradient at all. The
// optional warm-up (train --scorer-warmup-steps) distils it toward what global tokens are for:
// keys that some query beyond the window needs. From this layer's own q and k (after RoPE,
// detached), per key j < T − W:
//   y_j = max_{h, i >= j+W} softmax_i(j)      (kernels/cpu/attention_key_peak.h)
// the largest share of its attention that any query at least W later, in any head, gives key j
// under dense attention, and the loss is BCE-with-logits(s_j, y_j). So σ(s) is calibrated:
// σ(s_j) ≈ the peak attention key j would draw from a distant query, and τ keeps a meaning
// (τ = 0.3: "keys some distant query would give 30% of its attention").
//
// Why the peak and not the total mass. The first target was the mass key j draws from those
// queries, divided by what uniform attention would give. On passkey retrieval it made things
// worse (answer accuracy 1.00 → 0.75, docs/retrieval-experiments.md): ~1,000 filler queries each
// spreading attention over earlier copies of the filler outweigh the 5 answer queries that look
// at the needle, so the mass ranks filler first and the needle drops out of the global set. A
// retrieval is one query's sharp look, and the peak sees it: ~1 for every needle digit in every
// row. Filler keys can peak high too (some heads of a model trained short look sharply at far
// tokens when run long), but not every copy does, so the score the scorer fits to a filler token
// — it sees content, so it fits the mean over copies — stays below the needle's. Dividing a peak
// by the uniform share instead (p · (i + 1)) let the many moderate looks at filler score high
// again (passkey 0.45). The needle is a rare class (5 keys of ~900 a row), and the scorer needs
// a weight of 16 to learn it within a few hundred steps (passkey 0.86 at 4, 1.00 at 16). Why only queries W
// later: nearer ones reach the key through the window anyway, and counting them would rank keys
// by their neighbours' attention. It is no cure-all: at 2,048 tokens (from 128- or 512-token
// dense starts), or switched on after the LM loss has trained the scorer, it breaks passkey
// retrieval, while MQAR needs it; there the target rates far filler about as high as the needle
// (docs/retrieval-experiments.md). Across seeds it holds far more often with the dense blend beside
// it (NOTE [Dense blend]); where it still fails, a rare needed key is underfitted — the BCE is a
// mean over every key, and ranks, not calibration, decide what the cap keeps. The emphasis α
// weights key j's term by 1 + α·y_j² (a weighted mean): at α = 30 a key some distant query reads
// sharply counts 31 times a key no one reads, which fitted the needle on every 1,024-token passkey
// start tried. It cannot rank the needle above filler the target rates as high: at 2,048 tokens,
// where one layer's targets reached 0.9 for ~400 filler keys a row, no α let a cap of 64 keep the
// needle on every seed, and the cap has to grow with the length (docs/retrieval-experiments.md).
//
// The scorer runs a second time, on x.detach(), for this loss: the distillation gradient reaches
// only the scorer's parameters, never the projections or the blocks below (the rest of training
// still feels it indirectly: the scorer's outputs pick global tokens and set their bias, and a
// global gradient-norm clip counts its gradient). The loss is built with
// grad mode forced on, because inside an activation checkpoint the block's forward runs with
// grad off; the recomputation in backward happens after collecting has closed, so the loss is
// counted once. The target costs one dense attention forward (for the log-sum-exps) and one key
// peak pass per layer — O(T²), affordable for a warm-up, and about 25% of a step's time at 1,024
// tokens in the retrieval runs.
void SparseAttention::set_scorer_distillation(float weight) {
  SIEVE_USER_CHECK(std::isfinite(weight) && weight >= 0.0f,
                   "the scorer distillation weight must be >= 0 and finite (0: off), got {}", weight);
  distill_weight_ = weight;
}

void SparseAttention::set_scorer_distill_emphasis(float alpha) {
  SIEVE_USER_CHECK(std::isfinite(alpha) && alpha >= 0.0f,
                   "the scorer distillation emphasis must be >= 0 and finite (0: off), got {}", alpha);
  distill_emphasis_ = alpha;
}

void SparseAttention::begin_scorer_distillation() const {
  distill_collecting_ = distill_weight_ > 0.0f && scorer_ != nullptr && autograd::grad_enabled();
  distill_loss_ = Tensor();
}

Tensor SparseAttention::end_scorer_distillation() const {
  distill_collecting_ = false;
  Tensor loss = distill_loss_;
  distill_loss_ = Tensor();
  return loss;
}

Tensor SparseAttention::distillation_target(const Tensor& q, const Tensor& k) const {
  autograd::NoGradGuard no_grad;
  const std::int64_t batch = q.size(0), tokens = q.size(1), far = params_.window;
  if (tokens <= far) return Tensor();
  const Tensor qc = q.detach().contiguous(), kc = k.detach().contiguous();  // [B, T, H, D], [B, T, Hkv, D]
  // Each query's log-sum-exp from the fused dense kernel; k stands in for v (only lse is used).
  const kernels::cpu::CausalAttentionShape dense = dense_shape(batch, tokens);
  std::vector<float> out(static_cast<std::size_t>(qc.numel()));            // [B, T, H, D], unused
  std::vector<float> lse(static_cast<std::size_t>(batch * heads_ * tokens));  // [B, H, T]
  kernels::cpu::attention_causal_forward(core::DType::f32, dense, qc.raw_data(), kc.raw_data(), kc.raw_data(),
                                         out.data(), lse.data());
  std::vector<float> peak(static_cast<std::size_t>(batch * tokens));  // [B, T]
  kernels::cpu::attention_key_peak({.batch = batch, .tokens = tokens, .heads = heads_, .kv_heads = kv_heads_,
                                    .head_dim = head_dim_, .scale = dense.scale, .min_distance = far},
                                   qc.data<float>(), kc.data<float>(), lse.data(), peak.data());
  const std::int64_t keys = tokens - far;
  Tensor target = Tensor::empty({batch, keys});  // [B, T−W]
  float* y = target.data<float>();
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t j = 0; j < keys; ++j)
      y[b * keys + j] = std::min(peak[static_cast<std::size_t>(b * tokens + j)], 1.0f);  // rounding can exceed 1
  return target;
}

Tensor SparseAttention::scorer_distillation_target(const Tensor& x) const {
  autograd::NoGradGuard no_grad;
  const std::int64_t batch = x.size(0), tokens = x.size(1);
  const Tensor q = ops::rope(ops::reshape(q_proj_->forward(x), {batch, tokens, heads_, head_dim_}), 0, rope_theta_);
  const Tensor k = ops::rope(ops::reshape(k_proj_->forward(x), {batch, tokens, kv_heads_, head_dim_}), 0, rope_theta_);
  return distillation_target(q, k);
}

void SparseAttention::add_distillation_loss(const Tensor& x, const Tensor& q, const Tensor& k) const {
  const Tensor target = distillation_target(q, k);  // [B, T−W]
  if (!target.defined()) return;
  autograd::EnableGradGuard grad_on;  // see the note: also inside a checkpointed block's forward
  const Tensor scores = ops::slice(scorer_->forward(x.detach()), 1, 0, target.size(1));  // [B, T−W]
  Tensor weights;  // [B, T−W] 1 + α·y², or undefined for the plain mean
  if (distill_emphasis_ > 0.0f) {
    weights = Tensor::empty(target.shape());
    const float* y = target.data<float>();
    float* w = weights.data<float>();
    for (std::int64_t i = 0; i < target.numel(); ++i) w[i] = 1.0f + distill_emphasis_ * y[i] * y[i];
  }
  const Tensor loss =
      ops::scale(ops::binary_cross_entropy_with_logits(scores, target, weights), distill_weight_);
  distill_loss_ = distill_loss_.defined() ? ops::add(distill_loss_, loss) : loss;
}

Tensor SparseAttention::sparse_forward(const Tensor& x, const Tensor& q, const Tensor& k, const Tensor& v) const {
  const auto [scores, key_bias] = score(x);
  if (measure_coverage_) measure_coverage(scores, q, k, v);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
  return ops::sparse_attention(q, k, v, scores, key_bias, rotations_, params_, scale);
}

// NOTE [Dense blend]: a sparse layer of a model trained densely (a short dense start, or a
// dense model being converted) starts with a scorer that selects nothing useful, so its first
// global sets cut the long-range reads the model relies on; the loss then trains the model away
// from them before the scorer has learnt which keys matter, and retrieval can be lost for good
// (docs/sparse-attention.md, "Long-context retrieval"). Blending the dense output in, with a
// share the trainer anneals from 1 to 0, keeps those reads working while the scorer learns —
// its distillation target, the model's own dense attention, keeps pointing at the keys the
// model reads — and hands the layer over to its sparse key sets step by step. It costs a dense
// attention forward and backward per layer and step while the share is above 0.
void SparseAttention::set_dense_blend(float share) {
  SIEVE_USER_CHECK(std::isfinite(share) && share >= 0.0f && share <= 1.0f,
                   "the dense blend share must be in [0, 1] (0: off), got {}", share);
  dense_share_ = share;
}

// NOTE [Sparse decoding]: the layer's cache state keeps, per batch row, the incremental index
// (kernels/cpu/sparse_decode_index.h: running top-G global selection, bucket → positions) and
// each token's key bias, plus the layer inputs the scorer's causal convolutions read. A new
// token is scored from its last receptive_field() inputs (the same values the full forward
// computes: the convolutions are causal and zero-padded before position 0), hashed, appended to
// the index, and then attends through kernels::cpu::sparse_attention_decode.
namespace {

struct SparseDecodeState : AttentionDecodeState {
  std::vector<kernels::cpu::SparseDecodeIndex> rows;  // one per batch row
  Tensor inputs;                                      // [B, S, C] the layer's inputs so far
  Tensor key_bias;                                    // [B, S]
};

}  // namespace

Tensor SparseAttention::decode(const Tensor& x, const Tensor& q, LayerKvCache& cache, std::int64_t position) const {
  const std::int64_t batch = x.size(0), tokens = x.size(1), channels = x.size(2), capacity = cache.capacity();
  const kernels::cpu::SparseAttentionShape shape = kernel_shape(batch, capacity);
  auto* state = dynamic_cast<SparseDecodeState*>(cache.state());
  if (state == nullptr) {
    SIEVE_CHECK(position == 0, "sparse decoding: the cache holds {} tokens but no sparse state", position);
    auto fresh = std::make_unique<SparseDecodeState>();
    const kernels::cpu::GlobalSelection selection{.threshold = params_.threshold, .keep_ratio = params_.keep_ratio};
    for (std::int64_t b = 0; b < batch; ++b) fresh->rows.emplace_back(shape, selection);
    fresh->inputs = Tensor::zeros({batch, capacity, channels});
    fresh->key_bias = Tensor::zeros({batch, capacity});
    state = fresh.get();
    cache.set_state(std::move(fresh));
  }
  state->inputs.slice(1, position, position + tokens).copy_from(x);
  // Scores of the new tokens from the inputs they can see.
  Tensor new_scores = Tensor::zeros({batch, tokens}), new_bias = Tensor::zeros({batch, tokens});
  if (scorer_) {
    const std::int64_t first = std::max<std::int64_t>(0, position - (scorer_->receptive_field() - 1));
    const auto [scores, key_bias] = score(state->inputs.slice(1, first, position + tokens).contiguous());
    new_scores = scores.slice(1, position - first, position + tokens - first).contiguous();
    new_bias = key_bias.slice(1, position - first, position + tokens - first).contiguous();
  }
  state->key_bias.slice(1, position, position + tokens).copy_from(new_bias);

  const std::int64_t R = params_.lsh_rounds, D = head_dim_, NBk = shape.buckets;
  const Tensor keys = cache.keys(), values = cache.values();  // [B, S, Hkv, D] views
  const std::int64_t row_stride = keys.strides()[0];
  const float* k_data = keys.data<float>();
  const float* v_data = values.data<float>();
  const float* rotations = R > 0 ? rotations_.data<float>() : nullptr;
  const Tensor qc = q.contiguous();  // [B, T, H, D]
  // A prompt (tokens from position 0) runs the full sparse kernel at once — the same key sets,
  // tested equal — and only feeds the index; later tokens attend one at a time.
  const bool prefill = position == 0 && tokens > 1;
  Tensor out = prefill ? Tensor() : Tensor::empty({batch, tokens, heads_, D});  // [B, T, H, D]
  std::vector<std::int32_t> key_buckets(static_cast<std::size_t>(std::max<std::int64_t>(R * kv_heads_, 1)));
  std::vector<float> scratch(static_cast<std::size_t>(std::max<std::int64_t>(NBk / 2, 1)));
  for (std::int64_t b = 0; b < batch; ++b) {
    kernels::cpu::SparseDecodeIndex& index = state->rows[static_cast<std::size_t>(b)];
    for (std::int64_t t = 0; t < tokens; ++t) {
      const std::int64_t p = position + t;
      for (std::int64_t r = 0; r < R; ++r)
        for (std::int64_t g = 0; g < kv_heads_; ++g)
          key_buckets[static_cast<std::size_t>(r * kv_heads_ + g)] = kernels::cpu::lsh_bucket(
              k_data + b * row_stride + (p * kv_heads_ + g) * D, rotations + (r * kv_heads_ + g) * D * (NBk / 2), D,
              NBk, scratch.data());
      index.append(new_scores.data<float>()[b * tokens + t], key_buckets.data());
      if (prefill) continue;
      kernels::cpu::sparse_attention_decode(shape, p, qc.data<float>() + (b * tokens + t) * heads_ * D,
                                            k_data + b * row_stride, v_data + b * row_stride,
                                            state->key_bias.data<float>() + b * capacity, index, rotations,
                                            out.data<float>() + (b * tokens + t) * heads_ * D);
    }
    // Bring the running global selection up to the next query now: the first step after a
    // prompt would otherwise push the whole prompt through it (O(T log G) within one token).
    if (prefill) index.global_keys(position + tokens);
  }
  if (prefill) {
    const Tensor k = keys.slice(1, 0, tokens).contiguous(), v = values.slice(1, 0, tokens).contiguous();
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
    return ops::sparse_attention(qc, k, v, new_scores, new_bias, rotations_, params_, scale);
  }
  return out;
}

// NOTE [Sparse layer mode]: what a layer computes is fixed when it is built, so a model computes
// one function whatever the call: a scorer layer of a model whose context is below dense_below
// computes dense attention (sparse_layers_run_dense); every other sparse or local layer computes
// its sparse function for every sequence — full forward, training and cached decoding alike — so
// decoding token by token gives the full forward's logits at any length. The fused dense kernel
// still runs where it is that same function: when every position fits in the window (T <= W),
// each query's local keys are its whole causal prefix, the global and LSH branches are empty
// (they need j <= i − W < 0) and no key bias applies — sparse equals dense there. For decoding
// that holds while every position the cache can ever hold fits (capacity <= W); a cache that can
// outgrow the window keeps the sparse state from its first token.
Tensor SparseAttention::forward(const Tensor& x, LayerKvCache* cache) const {
  const std::int64_t batch = x.size(0), tokens = x.size(1);
  const std::int64_t position = cache != nullptr ? cache->length() : 0;
  // [B, T, C] → q [B, T, H, D], k/v [B, T, Hkv, D]
  Tensor q = ops::rope(ops::reshape(q_proj_->forward(x), {batch, tokens, heads_, head_dim_}), position, rope_theta_);
  Tensor k = ops::rope(ops::reshape(k_proj_->forward(x), {batch, tokens, kv_heads_, head_dim_}), position, rope_theta_);
  const Tensor v = ops::reshape(v_proj_->forward(x), {batch, tokens, kv_heads_, head_dim_});
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
  if (distill_collecting_ && cache == nullptr) add_distillation_loss(x, q, k);
  const bool within_window = (cache != nullptr ? cache->capacity() : tokens) <= params_.window;
  const bool dense = dense_ || within_window;
  Tensor attended;  // [B, T, H, D]
  if (cache != nullptr) {
    cache->append(k, v);
    attended = dense ? ops::causal_attention(q, cache->keys(), cache->values(), scale, position)
                     : decode(x, q, *cache, position);
  } else if (dense) {
    attended = ops::causal_attention(q, k, v, scale, 0);
    if (!dense_ && measure_coverage_) {  // the sparse key sets are the whole prefix: coverage 1
      const std::int64_t queries = batch * heads_ * tokens;
      coverage_.sum += static_cast<double>(queries);
      coverage_.queries += queries;
    }
  } else {
    attended = sparse_forward(x, q, k, v);
    if (dense_share_ > 0.0f)
      attended = ops::add(ops::scale(ops::causal_attention(q, k, v, scale, 0), dense_share_),
                          ops::scale(attended, 1.0f - dense_share_));
  }
  return o_proj_->forward(ops::reshape(attended, {batch, tokens, heads_ * head_dim_}));
}

}  // namespace sieve::nn
