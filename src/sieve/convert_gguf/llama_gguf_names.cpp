#include "sieve/convert_gguf/llama_gguf_names.h"

#include <array>
#include <charconv>
#include <cstring>
#include <utility>

namespace sieve::convert_gguf {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kGlobalNames{{
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kLayerNames{{
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
}};

// Row r of the destination comes from source row source_row(r) (within one head).
std::int64_t source_row(std::int64_t r, std::int64_t head_dim, bool to_gguf) {
  const std::int64_t half = head_dim / 2;
  if (to_gguf) return (r % 2) * half + r / 2;  // GGUF row 2i + j ← HF row j·D/2 + i
  return 2 * (r % half) + r / half;            // HF row j·D/2 + i ← GGUF row 2i + j
}

}  // namespace

std::optional<std::string> gguf_tensor_name(std::string_view name) {
  for (const auto& [sieve, gguf] : kGlobalNames)
    if (name == sieve) return std::string(gguf);
  constexpr std::string_view prefix = "model.layers.";
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  const std::size_t dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::int64_t layer = 0;
  const auto [end, error] = std::from_chars(name.data(), name.data() + dot, layer);
  if (error != std::errc() || end != name.data() + dot) return std::nullopt;
  const std::string_view rest = name.substr(dot + 1);
  for (const auto& [sieve, gguf] : kLayerNames)
    if (rest == sieve) return "blk." + std::to_string(layer) + "." + std::string(gguf);
  return std::nullopt;
}

RopeProjection rope_projection_of(std::string_view name) {
  if (name.ends_with(".self_attn.q_proj.weight")) return RopeProjection::query;
  if (name.ends_with(".self_attn.k_proj.weight")) return RopeProjection::key;
  return RopeProjection::none;
}

void permute_rope_rows(const float* w, float* out, std::int64_t heads, std::int64_t head_dim, std::int64_t cols,
                       bool to_gguf) {
  permute_rope_row_bytes(reinterpret_cast<const std::byte*>(w), reinterpret_cast<std::byte*>(out), heads, head_dim,
                         cols * static_cast<std::int64_t>(sizeof(float)), to_gguf);
}

void permute_rope_row_bytes(const std::byte* w, std::byte* out, std::int64_t heads, std::int64_t head_dim,
                            std::int64_t row_bytes, bool to_gguf) {
  for (std::int64_t h = 0; h < heads; ++h)
    for (std::int64_t r = 0; r < head_dim; ++r)
      std::memcpy(out + (h * head_dim + r) * row_bytes, w + (h * head_dim + source_row(r, head_dim, to_gguf)) * row_bytes,
                  static_cast<std::size_t>(row_bytes));
}

}  // namespace sieve::convert_gguf
