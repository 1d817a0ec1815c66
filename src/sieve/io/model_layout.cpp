#include "sieve/io/model_layout.h"

#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"
#include "sieve/ops/sparse_attention.h"

namespace sieve::io {
namespace {

using core::checked_add;
using core::checked_mul;

// The parameters the model holds outside its layers.
std::vector<TensorSpec> global_parameters(const nn::LlamaConfig& c) {
  std::vector<TensorSpec> out{
      {"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}, "vocab_size x hidden_size"},
      {"model.norm.weight", {c.hidden_size}, "hidden_size"},
  };
  if (!c.tie_word_embeddings)
    out.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}, "vocab_size x hidden_size"});
  return out;
}

// The LSH rotations a sparse layer builds with itself (SparseAttention): [R, Hkv, D, NBk / 2].
std::optional<TensorSpec> lsh_rotations(const nn::LlamaConfig& c, std::int64_t layer) {
  const nn::AttentionConfig& a = c.attention;
  if (a.kind(layer) != "sparse" || a.lsh_rounds == 0) return std::nullopt;
  ops::SparseAttentionParams params;
  params.lsh_keys = a.lsh_keys;
  params.lsh_buckets = a.lsh_buckets;
  const std::int64_t buckets = ops::lsh_bucket_count(params, c.max_position_embeddings);
  return TensorSpec{"self_attn (LSH rotations)",
                    {a.lsh_rounds, c.kv_heads(layer), c.head_dim(), buckets / 2},
                    "attention.lsh_rounds x num_key_value_heads x head_dim x attention.lsh_buckets / 2"};
}

// The model's size does not fit 64 bits: no machine holds it, and the message says which
// fields make it so large.
[[noreturn]] void overflow(std::string_view source, const nn::LlamaConfig& c) {
  core::throw_user_error(
      "{}: the model these sizes describe is too large to count (more than 2^63 elements): vocab_size {}, "
      "hidden_size {}, intermediate_size {}, num_hidden_layers {}",
      source, c.vocab_size, c.hidden_size, c.intermediate_size, c.num_hidden_layers);
}

std::int64_t numel_of(const TensorSpec& spec, std::string_view source, const nn::LlamaConfig& c) {
  const auto numel = core::checked_numel(spec.shape);
  if (!numel) overflow(source, c);
  return *numel;
}

// a += b * n, or the overflow error.
void accumulate(std::int64_t& a, std::int64_t b, std::int64_t n, std::string_view source, const nn::LlamaConfig& c) {
  const auto product = checked_mul(b, n);
  const auto sum = product ? checked_add(a, *product) : std::nullopt;
  if (!sum) overflow(source, c);
  a = *sum;
}

// The config's distinct layers: the first layer of each (kind, widths) with how many layers
// share it. Without per-layer lists every layer is alike, and the config's layer count is not
// walked (it may be any number a file names).
std::vector<std::pair<std::int64_t, std::int64_t>> distinct_layers(const nn::LlamaConfig& c) {
  if (c.attention.layers.empty() && !c.pruned()) return {{0, c.num_hidden_layers}};
  std::map<std::tuple<std::string, std::int64_t, std::int64_t, std::int64_t>, std::size_t> index;
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (std::int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    const auto key = std::tuple(c.attention.kind(layer), c.heads(layer), c.kv_heads(layer), c.intermediate(layer));
    const auto [it, added] = index.emplace(key, out.size());
    if (added) out.emplace_back(layer, 0);
    ++out[it->second].second;
  }
  return out;
}

}  // namespace

std::vector<TensorSpec> llama_layer_parameters(const nn::LlamaConfig& c, std::int64_t layer) {
  const std::string& kind = c.attention.kind(layer);
  const std::int64_t C = c.hidden_size, I = c.intermediate(layer), q = c.heads(layer) * c.head_dim(),
                     kv = c.kv_heads(layer) * c.head_dim();
  std::vector<TensorSpec> out;
  out.push_back({"input_layernorm.weight", {C}, "hidden_size"});
  if (kind == "sparse") out.push_back({"self_attn.global_bias_scale", {1}, "1"});
  out.push_back({"self_attn.q_proj.weight", {q, C}, "num_attention_heads x head_dim x hidden_size"});
  out.push_back({"self_attn.k_proj.weight", {kv, C}, "num_key_value_heads x head_dim x hidden_size"});
  out.push_back({"self_attn.v_proj.weight", {kv, C}, "num_key_value_heads x head_dim x hidden_size"});
  out.push_back({"self_attn.o_proj.weight", {C, q}, "hidden_size x num_attention_heads x head_dim"});
  if (kind == "sparse") {
    const std::int64_t S = c.attention.scorer_channels, K = c.attention.scorer_kernel;
    out.push_back({"self_attn.scorer.conv1.weight", {C, K}, "hidden_size x attention.scorer_kernel"});
    out.push_back({"self_attn.scorer.conv1.bias", {C}, "hidden_size"});
    out.push_back({"self_attn.scorer.conv2.weight", {S, K}, "attention.scorer_channels x attention.scorer_kernel"});
    out.push_back({"self_attn.scorer.conv2.bias", {S}, "attention.scorer_channels"});
    out.push_back({"self_attn.scorer.proj1.weight", {S, C}, "attention.scorer_channels x hidden_size"});
    out.push_back({"self_attn.scorer.proj1.bias", {S}, "attention.scorer_channels"});
    out.push_back({"self_attn.scorer.out.weight", {1, S}, "attention.scorer_channels"});
    out.push_back({"self_attn.scorer.out.bias", {1}, "1"});
  }
  out.push_back({"post_attention_layernorm.weight", {C}, "hidden_size"});
  out.push_back({"mlp.gate_proj.weight", {I, C}, "intermediate_size x hidden_size"});
  out.push_back({"mlp.up_proj.weight", {I, C}, "intermediate_size x hidden_size"});
  out.push_back({"mlp.down_proj.weight", {C, I}, "hidden_size x intermediate_size"});
  return out;
}

std::vector<TensorSpec> llama_parameters(const nn::LlamaConfig& c) {
  std::vector<TensorSpec> globals = global_parameters(c);
  std::vector<TensorSpec> out{globals[0]};
  for (std::int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    const std::string prefix = "model.layers." + std::to_string(layer) + ".";
    for (TensorSpec& spec : llama_layer_parameters(c, layer)) {
      spec.name = prefix + spec.name;
      out.push_back(std::move(spec));
    }
  }
  out.insert(out.end(), globals.begin() + 1, globals.end());
  return out;
}

ModelFootprint llama_footprint(const nn::LlamaConfig& c, std::string_view source) {
  ModelFootprint f;
  std::int64_t largest = -1;
  const auto consider = [&](const TensorSpec& spec, std::int64_t numel, const std::string& prefix) {
    if (numel <= largest) return;
    largest = numel;
    f.largest = spec;
    f.largest.name = prefix + spec.name;
  };
  for (const TensorSpec& spec : global_parameters(c)) {
    const std::int64_t numel = numel_of(spec, source, c);
    accumulate(f.parameters, numel, 1, source, c);
    ++f.parameter_tensors;
    consider(spec, numel, "");
  }
  for (const auto& [layer, layers] : distinct_layers(c)) {
    const std::string prefix = c.pruned() ? "model.layers." + std::to_string(layer) + "."
                                          : "model.layers.<" + c.attention.kind(layer) + " layer>.";
    for (const TensorSpec& spec : llama_layer_parameters(c, layer)) {
      const std::int64_t numel = numel_of(spec, source, c);
      accumulate(f.parameters, numel, layers, source, c);
      accumulate(f.parameter_tensors, 1, layers, source, c);
      consider(spec, numel, prefix);
    }
    if (const auto rotations = lsh_rotations(c, layer)) {
      const std::int64_t numel = numel_of(*rotations, source, c);
      accumulate(f.buffer_elements, numel, layers, source, c);
      consider(*rotations, numel, prefix);
    }
  }
  // Bytes saturate: a count that fits is reported as a size (at least 8 EiB) over any limit.
  const auto saturating = [](std::int64_t a, std::int64_t b, std::int64_t n) {
    const auto product = checked_mul(b, n);
    const auto sum = product ? checked_add(a, *product) : std::nullopt;
    return sum.value_or(std::numeric_limits<std::int64_t>::max());
  };
  f.bytes = saturating(0, f.parameters, 4);
  f.bytes = saturating(f.bytes, f.buffer_elements, 4);
  f.bytes = saturating(f.bytes, f.parameter_tensors, kBookkeepingBytesPerTensor);
  return f;
}

}  // namespace sieve::io
