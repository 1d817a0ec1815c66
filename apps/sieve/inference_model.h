// Loading a model directory to run it (eval, generate): the attention flags' overrides and the
// start-up line when its sparse layers run dense.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "apps/sieve/attention_flags.h"
#include "sieve/nn/models/llama.h"

namespace sieve::apps {

struct InferenceModelFlags {
  AttentionFlags attention;  // overrides of the model's attention knobs
};

void add_inference_model_flags(CLI::App* command, InferenceModelFlags& flags);

// Builds the model of `dir` with the flags applied, in inference mode. Notes go to stderr.
std::unique_ptr<nn::LlamaForCausalLM> load_inference_model(const std::filesystem::path& dir,
                                                           const InferenceModelFlags& flags);

}  // namespace sieve::apps
