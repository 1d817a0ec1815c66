// The LLaMA-style model as an ONNX opset-17 graph that computes what LlamaForCausalLM::forward
// computes (dense attention layers only; onnx_export.h refuses others). Names follow Hugging Face
// Optimum's decoder exports:
//   inputs   input_ids        int64 [batch_size, sequence_length]
//            attention_mask   int64 [batch_size, total_sequence_length]: 1 for a token, 0 for padding
//                             (required, as in Optimum's exports: an input with a default initializer
//                             would be optional, but ONNX Runtime's Node binding silently drops a
//                             value fed for it, so a given mask would be ignored)
//            past_key_values.N.key / .value   f32 [batch_size, Hkv, past_sequence_length, D]
//                             (the decoding graph only)
//   outputs  logits           f32 [batch_size, sequence_length, V]
//            present.N.key / .value           f32 [batch_size, Hkv, total_sequence_length, D]
// With an attention mask, keys whose mask is 0 are not attended to and positions count only the
// tokens whose mask is 1 (position_ids = cumsum(mask) − 1, as transformers' generate computes
// them), so a left-padded row gives its tokens the logits of the unpadded sequence.
#pragma once

#include "onnx/onnx.pb.h"
#include "sieve/nn/models/llama.h"

namespace sieve::convert_onnx {

enum class LlamaOnnxGraphKind {
  prefill,    // input_ids (+ attention_mask) → logits, present.*
  with_past,  // input_ids (+ attention_mask) + past_key_values.* → logits, present.*
};

// Fills `out` (IR version 8, opset 17) with the graph of `model`, weights as initializers.
void build_llama_onnx_model(const nn::LlamaForCausalLM& model, LlamaOnnxGraphKind kind, onnx::ModelProto& out);

}  // namespace sieve::convert_onnx
