// The `llama` architecture's hyper-parameters as GGUF metadata (llama.cpp's llama-arch.cpp keys)
// against Sieve's LlamaConfig:
//   general.architecture "llama"        llama.context_length        max_position_embeddings
//   llama.embedding_length  hidden_size llama.feed_forward_length   intermediate_size
//   llama.block_count  num_hidden_layers llama.attention.head_count(_kv) num_(key_value_)heads
//   llama.attention.layer_norm_rms_epsilon rms_norm_eps            llama.rope.freq_base rope_theta
//   llama.rope.dimension_count  head_dim (Sieve rotates whole heads)
//   llama.vocab_size  vocab_size        output.weight absent        tie_word_embeddings
#pragma once

#include <string_view>

#include "sieve/convert_gguf/gguf_reader.h"
#include "sieve/convert_gguf/gguf_writer.h"
#include "sieve/nn/models/llama_config.h"

namespace sieve::convert_gguf {

// general.* and llama.* keys for `config`; `file_type` is llama.cpp's llama_ftype of the
// weights' main type. The attention must be dense in every layer (the caller checks).
void write_llama_metadata(GgufWriter& writer, const nn::LlamaConfig& config, std::string_view model_name,
                          GgmlType main_type);

// The config a GGUF `llama` file describes, checked against its tensors' shapes: vocab_size from
// token_embd, tie_word_embeddings from whether output.weight is present, bos/eos ids from the
// tokenizer metadata. Anything Sieve would compute differently (another architecture, partial
// rotary dimensions, RoPE scaling, a different key/value head size, experts) is a
// core::UserError naming `source` and the key.
nn::LlamaConfig read_llama_config(const GgufHeader& header, std::string_view source);

}  // namespace sieve::convert_gguf
