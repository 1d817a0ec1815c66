// One loaded version of a served model: the model (plain or quantized), its tokenizer and what
// `models()` reports. Shared by the registry (while it is the serving version) and by every
// sequence running on it, so a replaced version is freed when its last sequence ends.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "sieve/data/tokenizer.h"
#include "sieve/nn/models/llama.h"
#include "sieve/serve/service.h"

namespace sieve::serve {

struct ModelVersion {
  ModelInfo info;
  std::unique_ptr<nn::LlamaForCausalLM> model;
  data::Tokenizer tokenizer;
};

// Loads `directory` (config.json, model.safetensors, tokenizer.model; plain or quantized) as
// `version` of `name`, in inference mode. Throws core::UserError naming what is wrong.
std::shared_ptr<const ModelVersion> load_model_version(const std::string& name, const std::filesystem::path& directory,
                                                       std::int64_t version);

// The model's ids for `prompt`: BOS (when the tokenizer has one) and the prompt's pieces, as
// `sieve generate` makes them.
std::vector<std::int64_t> prompt_ids(const ModelVersion& version, const std::string& prompt);

// A short forward that a new version must pass before it serves: a prompt's next-token logits
// must be finite. Throws core::UserError saying what failed. Run on the scheduler thread.
void check_runs(const ModelVersion& version);

}  // namespace sieve::serve
