// Loading a model directory to run it (eval, generate, inspect, bench): plain or quantized (by
// its config's quantization section), the attention flags' overrides, the start-up line when
// its sparse layers run dense, and LoRA adapters from --adapter.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "apps/sieve/attention_flags.h"
#include "sieve/nn/models/llama.h"

namespace sieve::apps {

struct InferenceModelFlags {
  AttentionFlags attention;  // overrides of the model's attention knobs
  std::string adapter;       // --adapter: an adapter.safetensors of `finetune --lora` (empty: none)
};

void add_inference_model_flags(CLI::App* command, InferenceModelFlags& flags);

// The model of `dir`: io::load_model for a plain directory, compress::load_quantized_model for
// a quantized one. `adjust` edits the config before the model is built.
std::unique_ptr<nn::LlamaForCausalLM> load_model_dir(const std::filesystem::path& dir,
                                                     const std::function<void(nn::LlamaConfig&)>& adjust = {});

// Builds the model of `dir` (load_model_dir) with the flags applied, in inference mode. With an
// adapter file the adapters it stores (its targets, rank and alpha) are put on the base and
// merged into its weights — the same sums `finetune --merge` writes; on a quantized base they
// stay unmerged and add their update to each quantized product. A file that does not fit the model (another
// model's, missing metadata, wrong shapes) is a UserError naming it. Notes go to stderr.
std::unique_ptr<nn::LlamaForCausalLM> load_inference_model(const std::filesystem::path& dir,
                                                           const InferenceModelFlags& flags);

}  // namespace sieve::apps
