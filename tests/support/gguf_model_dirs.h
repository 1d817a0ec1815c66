// Model directories for the GGUF conversion tests: the tiny preset's shape (or a variant: tied
// embeddings, no GQA) with random weights spread wide enough that the logits vary by several
// units (the default init's are nearly flat, which would make any comparison easy), and the
// 512-piece tokenizer of the made-up corpus.
#pragma once

#include <cstdint>
#include <filesystem>

#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"
#include "tiny_model_dir.h"

namespace sieve::testing {

struct GgufTestModel {
  bool tied = false;
  std::int64_t kv_heads = 2;  // the tiny preset's 4 query heads share 2 (GQA)
  std::uint64_t seed = 1;
};

inline nn::LlamaConfig gguf_test_config(const GgufTestModel& spec) {
  nn::LlamaConfig config = nn::preset_config("tiny");
  config.vocab_size = 512;
  config.tie_word_embeddings = spec.tied;
  config.num_key_value_heads = spec.kv_heads;
  config.rope_theta = 500000.0;  // not the default, so a lost key shows
  config.rms_norm_eps = 1e-6;
  return config;
}

// Writes config.json, model.safetensors and tokenizer.model into `dir`.
inline void write_gguf_test_model_dir(const std::filesystem::path& dir, const GgufTestModel& spec) {
  write_tiny_tokenizer(dir);
  const nn::LlamaForCausalLM model(gguf_test_config(spec), spec.seed);
  // Wider weights: matrices ×6 (std ~0.12), norm gains spread over [0.5, 1.5].
  std::uint64_t state = spec.seed * 0x9E3779B97F4A7C15ull;
  for (auto& [name, tensor] : model.named_parameters()) {
    float* values = tensor.data<float>();
    for (std::int64_t i = 0; i < tensor.numel(); ++i) {
      if (tensor.dim() == 1) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        values[i] = 0.5f + static_cast<float>(state >> 40) / static_cast<float>(1u << 24);
      } else {
        values[i] *= 6.0f;
      }
    }
  }
  io::save_model(model, dir);
}

}  // namespace sieve::testing
