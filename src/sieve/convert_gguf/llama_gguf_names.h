// How llama.cpp's `llama` architecture names and lays out a LLaMA model's tensors, against the
// Hugging Face names Sieve's model directories use:
//   model.embed_tokens.weight                      token_embd.weight
//   model.layers.N.input_layernorm.weight          blk.N.attn_norm.weight
//   model.layers.N.self_attn.{q,k,v,o}_proj.weight blk.N.attn_{q,k,v,output}.weight
//   model.layers.N.post_attention_layernorm.weight blk.N.ffn_norm.weight
//   model.layers.N.mlp.{gate,up,down}_proj.weight  blk.N.ffn_{gate,up,down}.weight
//   model.norm.weight                              output_norm.weight
//   lm_head.weight (absent when tied)              output.weight
//
// NOTE [RoPE row permutation] Sieve (like HF) rotates the pair (i, i + D/2) of each head; llama.cpp's
// `llama` architecture rotates adjacent pairs (2i, 2i + 1). llama.cpp's converter therefore
// reorders the rows of q_proj and k_proj within each head so that row 2i + j of the GGUF head
// is row j·D/2 + i of the HF head (j ∈ {0, 1}) — convert_hf_to_gguf.py's LlamaModel.permute —
// and q·k is unchanged. Import applies the inverse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sieve::convert_gguf {

// The GGUF name of a Sieve parameter, or nullopt for a name llama.cpp has no tensor for.
std::optional<std::string> gguf_tensor_name(std::string_view sieve_name);

// Whether the Sieve parameter is a q_proj or k_proj weight (rows to permute), and which.
enum class RopeProjection { none, query, key };
RopeProjection rope_projection_of(std::string_view sieve_name);

// Reorders the rows of w [heads · D, cols] between the HF (rotate-half) and the llama.cpp
// (adjacent pairs) layouts; `to_gguf` picks the direction. out must not alias w.
void permute_rope_rows(const float* w, float* out, std::int64_t heads, std::int64_t head_dim, std::int64_t cols,
                       bool to_gguf);

// The same on whole encoded rows of `row_bytes` bytes each (a quantized row moves as a unit).
void permute_rope_row_bytes(const std::byte* w, std::byte* out, std::int64_t heads, std::int64_t head_dim,
                            std::int64_t row_bytes, bool to_gguf);

}  // namespace sieve::convert_gguf
