// llama.cpp's decode and prefill speed on a GGUF file, measured as `sieve bench decode` and
// `sieve bench prefill` measure Sieve's (apps/sieve/bench_inference.cpp): decode runs a
// `context`-token random prompt, then generates `tokens` tokens greedily one at a time and
// reports the mean time of all but the first; prefill reports the best of `repeats` runs (after
// a warm-up) of the whole prompt from an empty cache. F32 KV cache, flash attention off, as
// the verification test runs it. Prints one JSON line per bench, for bench/gguf_compare.py.
//   llama_cpp_bench MODEL.gguf [--context 256] [--tokens 64] [--repeats 3] [--threads 2]
#include <ggml-backend.h>
#include <llama.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Decodes `tokens` at positions [first, first + n) of sequence 0; logits of the last only.
void decode(llama_context* context, const std::vector<llama_token>& tokens, int first) {
  llama_batch batch = llama_batch_init(static_cast<int>(tokens.size()), 0, 1);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    batch.token[i] = tokens[i];
    batch.pos[i] = first + static_cast<int>(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = i + 1 == tokens.size();
  }
  batch.n_tokens = static_cast<int>(tokens.size());
  const int status = llama_decode(context, batch);
  llama_batch_free(batch);
  if (status != 0) {
    std::fprintf(stderr, "llama_decode failed: %d\n", status);
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [--context N] [--tokens N] [--repeats N] [--threads N]\n", argv[0]);
    return 2;
  }
  const char* path = argv[1];
  int context = 256, tokens = 64, repeats = 3, threads = 2;
  for (int i = 2; i + 1 < argc; i += 2) {
    const int value = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--context")) context = value;
    else if (!std::strcmp(argv[i], "--tokens")) tokens = value;
    else if (!std::strcmp(argv[i], "--repeats")) repeats = value;
    else if (!std::strcmp(argv[i], "--threads")) threads = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  llama_log_set([](ggml_log_level level, const char* text, void*) {
    if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
  }, nullptr);
  ggml_backend_load_all_from_path(SIEVE_LLAMA_CPP_LIB_DIR);
  llama_backend_init();
  llama_model_params model_params = llama_model_default_params();
  model_params.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(path, model_params);
  if (model == nullptr) {
    std::fprintf(stderr, "llama.cpp could not load %s\n", path);
    return 1;
  }
  llama_context_params params = llama_context_default_params();
  params.n_ctx = static_cast<std::uint32_t>(context + tokens);
  params.n_batch = params.n_ubatch = static_cast<std::uint32_t>(context);
  params.n_threads = params.n_threads_batch = threads;
  params.type_k = params.type_v = GGML_TYPE_F32;
  params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  params.no_perf = true;
  llama_context* ctx = llama_init_from_model(model, params);
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int V = llama_vocab_n_tokens(vocab);
  std::mt19937 rng(5);
  std::vector<llama_token> prompt(static_cast<std::size_t>(context));
  for (auto& t : prompt) t = static_cast<llama_token>(rng() % static_cast<unsigned>(V));

  // Prefill: warm-up, then the best of `repeats`.
  double best_ms = 1e30;
  for (int r = 0; r <= repeats; ++r) {
    llama_memory_clear(llama_get_memory(ctx), true);
    const auto start = Clock::now();
    decode(ctx, prompt, 0);
    if (r > 0) best_ms = std::min(best_ms, ms_since(start));
  }
  // Decode: the prompt, then greedy tokens one at a time.
  llama_memory_clear(llama_get_memory(ctx), true);
  decode(ctx, prompt, 0);
  double decode_ms = 0.0;
  for (int i = 0; i < tokens; ++i) {
    const float* logits = llama_get_logits_ith(ctx, -1);
    const llama_token next = static_cast<llama_token>(std::max_element(logits, logits + V) - logits);
    const auto start = Clock::now();
    decode(ctx, {next}, context + i);
    if (i > 0) decode_ms += ms_since(start);
  }
  const double ms_per_token = decode_ms / std::max(1, tokens - 1);
  std::printf("{\"impl\": \"llama.cpp\", \"bench\": \"prefill\", \"model\": \"%s\", \"prompt\": %d, \"threads\": %d, "
              "\"prefill_ms\": %.3f, \"tokens_per_s\": %.1f}\n",
              path, context, threads, best_ms, context / (best_ms / 1000.0));
  std::printf("{\"impl\": \"llama.cpp\", \"bench\": \"decode\", \"model\": \"%s\", \"context\": %d, \"tokens\": %d, "
              "\"threads\": %d, \"ms_per_token\": %.4f}\n",
              path, context, tokens, threads, ms_per_token);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
