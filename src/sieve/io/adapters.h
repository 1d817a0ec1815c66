// LoRA adapter files: only the adapter tensors ("<linear path>.lora_A.weight" [r, K],
// "<linear path>.lora_B.weight" [M, r], the names PEFT uses) in a safetensors file, with the
// settings needed to rebuild the adapters in its metadata:
//   "format": "pt", "sieve.adapter": "lora", "lora.rank", "lora.alpha", "lora.dropout",
//   "lora.targets" (the pattern, see NOTE [LoRA target patterns] in nn/adapters/lora.h).
// A file is a few hundred KB next to a base model of tens of MB, and loads onto any copy of it.
#pragma once

#include <filesystem>

#include "sieve/nn/adapters/lora.h"
#include "sieve/nn/models/llama.h"

namespace sieve::io {

inline constexpr const char* kAdapterFile = "adapter.safetensors";

// Writes the adapter parameters of `model` (atomically) with `options` as metadata. A model
// without adapters is a UserError.
void save_adapters(const nn::Module& model, const nn::LoraOptions& options, const std::filesystem::path& file);

// The LoRA settings stored in an adapter file; a missing or malformed key (a rank below 1, an
// alpha that is not finite, a dropout outside [0, 1)) is a UserError naming the file.
nn::LoraOptions read_adapter_options(const std::filesystem::path& file);

// Loads an adapter file onto `model`. A model without adapters gets them first (apply_lora with
// the file's settings, which freezes the base); a model that has them must have exactly the
// file's set. Every adapter tensor must be present with its shape, and the file may hold no
// others: mismatches are UserErrors naming the tensor. Returns the file's settings.
nn::LoraOptions load_adapters(nn::Module& model, const std::filesystem::path& file);

// Writes a plain model directory (config.json, model.safetensors without adapter tensors) whose
// weights are the base with every adapter merged in; `model` itself is not modified.
void save_merged_model(const nn::LlamaForCausalLM& model, const std::filesystem::path& dir);

}  // namespace sieve::io
