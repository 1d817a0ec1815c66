// Between Sieve model directories and Hugging Face LLaMA state dicts (pytorch_model.bin).
//
// Sieve names its parameters as Hugging Face's LlamaForCausalLM does (model.embed_tokens.weight,
// model.layers.N.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight), so the mapping
// is the identity on names, with what io::llama_parameters implies for the config; it differs
// only in what HF checkpoints carry beyond the parameters:
//   * lm_head.weight of a model with tied embeddings (HF saves the shared tensor twice): must
//     equal model.embed_tokens.weight, and is dropped;
//   * model.layers.N.self_attn.rotary_emb.inv_freq (older transformers saved this buffer): RoPE
//     is computed from rope_theta, so it is skipped.
// Layers of Sieve's sparse attention have parameters HF's LLaMA does not (the importance
// scorer); they export and import under Sieve's names with a config that declares them.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "sieve/convert_torch/checkpoint_reader.h"
#include "sieve/nn/models/llama.h"

namespace sieve::convert_torch {

struct ImportSummary {
  std::size_t parameters = 0;           // tensors written
  std::vector<std::string> skipped;     // checkpoint tensors not written (tied head, inv_freq)
  std::vector<std::string> dtypes;      // the checkpoint's parameter dtypes, e.g. {"bfloat16"}
};

// Reads the state dict of `checkpoint` as the model `config_json` describes (an HF LLaMA config,
// validated by io::parse_llama_config; `config_source` names it) and writes a Sieve model
// directory: out_dir/config.json (the given JSON with Sieve's fields restated) and
// out_dir/model.safetensors (every parameter as f32). The model must fit the memory limit before
// anything is read. A missing, unexpected or misshapen tensor, or an lm_head that differs from
// tied embeddings → UserError naming the checkpoint and the tensor. No tokenizer is written.
ImportSummary import_llama_checkpoint(const TorchCheckpoint& checkpoint, const nlohmann::json& config_json,
                                      const std::string& config_source, const std::filesystem::path& out_dir);

// The state dict of `model`: its parameters under their (HF) names, in the model's order.
std::vector<std::pair<std::string, core::Tensor>> llama_state_dict(const nn::LlamaForCausalLM& model);

}  // namespace sieve::convert_torch
