// llama.cpp, linked from the npm package's libraries (scripts/install-verifiers.sh), as the
// verifier of GGUF exports: loads a file, runs a prompt and returns every position's logits, and
// tokenizes text — with an F32 KV cache and flash attention off, so f32 logits are comparable to
// 1e-4 (an F16 cache alone moves them by ~1e-2).
#pragma once

#include <ggml-backend.h>
#include <llama.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::testing {

// Loads the CPU backends once (the npm package ships one per instruction set; ggml picks the
// best this CPU runs) and keeps llama.cpp's log to errors.
inline void init_llama_cpp() {
  static const bool done = [] {
    llama_log_set(
        [](ggml_log_level level, const char* text, void*) {
          if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
        },
        nullptr);
    ggml_backend_load_all_from_path(SIEVE_LLAMA_CPP_LIB_DIR);
    llama_backend_init();
    return true;
  }();
  (void)done;
}

class LlamaCppModel {
 public:
  explicit LlamaCppModel(const std::filesystem::path& gguf, int context = 128, int threads = 2) {
    init_llama_cpp();
    llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = 0;
    model_ = llama_model_load_from_file(gguf.c_str(), model_params);
    if (model_ == nullptr) throw std::runtime_error("llama.cpp could not load " + gguf.string());
    llama_context_params params = llama_context_default_params();
    params.n_ctx = static_cast<std::uint32_t>(context);
    params.n_batch = params.n_ubatch = static_cast<std::uint32_t>(context);
    params.n_threads = params.n_threads_batch = threads;
    params.type_k = params.type_v = GGML_TYPE_F32;
    params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    params.no_perf = true;
    context_ = llama_init_from_model(model_, params);
    if (context_ == nullptr) throw std::runtime_error("llama.cpp could not make a context for " + gguf.string());
  }
  ~LlamaCppModel() {
    if (context_ != nullptr) llama_free(context_);
    if (model_ != nullptr) llama_model_free(model_);
  }
  LlamaCppModel(const LlamaCppModel&) = delete;
  LlamaCppModel& operator=(const LlamaCppModel&) = delete;

  int vocab_size() const { return llama_vocab_n_tokens(llama_model_get_vocab(model_)); }

  // The logits of every position of `tokens`, run as one batch from an empty cache: [T][V].
  std::vector<std::vector<float>> logits(const std::vector<std::int32_t>& tokens) {
    llama_memory_clear(llama_get_memory(context_), true);
    llama_batch batch = llama_batch_init(static_cast<std::int32_t>(tokens.size()), 0, 1);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      batch.token[i] = tokens[i];
      batch.pos[i] = static_cast<llama_pos>(i);
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = 1;
    }
    batch.n_tokens = static_cast<std::int32_t>(tokens.size());
    const int status = llama_decode(context_, batch);
    llama_batch_free(batch);
    if (status != 0) throw std::runtime_error("llama_decode failed: " + std::to_string(status));
    std::vector<std::vector<float>> out;
    const int V = vocab_size();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const float* row = llama_get_logits_ith(context_, static_cast<std::int32_t>(i));
      out.emplace_back(row, row + V);
    }
    return out;
  }

  // llama.cpp's tokens for `text`: no BOS added, special-token text not parsed (as Sieve encodes).
  std::vector<std::int32_t> tokenize(std::string_view text) const {
    const llama_vocab* vocab = llama_model_get_vocab(model_);
    std::vector<llama_token> ids(text.size() + 8);
    int n = llama_tokenize(vocab, text.data(), static_cast<std::int32_t>(text.size()), ids.data(),
                           static_cast<std::int32_t>(ids.size()), false, false);
    if (n < 0) {
      ids.resize(static_cast<std::size_t>(-n));
      n = llama_tokenize(vocab, text.data(), static_cast<std::int32_t>(text.size()), ids.data(),
                         static_cast<std::int32_t>(ids.size()), false, false);
    }
    ids.resize(static_cast<std::size_t>(n));
    return {ids.begin(), ids.end()};
  }

 private:
  llama_model* model_ = nullptr;
  llama_context* context_ = nullptr;
};

}  // namespace sieve::testing
