// `sieve import --from gguf`: convert_gguf::import_gguf with a summary line.
#include <cstdio>

#include "apps/sieve/bench_common.h"
#include "apps/sieve/conversion_formats.h"
#include "sieve/convert_gguf/gguf_import.h"
#include "sieve/core/error.h"

namespace sieve::apps {

void import_gguf(const ImportRequest& request) {
  SIEVE_USER_CHECK(request.config.empty() && request.tokenizer.empty(),
                   "--config and --tokenizer are for --from pytorch: a GGUF file holds its own config and tokenizer");
  const auto start = BenchClock::now();
  const convert_gguf::GgufImportSummary summary = convert_gguf::import_gguf(request.source, request.out_dir);
  std::string tensors;
  for (const auto& [name, count] : summary.tensors_by_type)
    tensors += (tensors.empty() ? "" : ", ") + std::to_string(count) + " " + name;
  const nn::LlamaConfig& c = summary.config;
  std::printf("imported %s into %s: %lld layers, hidden %lld, %lld/%lld heads, vocab %lld%s; %s tensors decoded to f32 "
              "in %.1f s\n",
              request.source.c_str(), request.out_dir.c_str(), static_cast<long long>(c.num_hidden_layers),
              static_cast<long long>(c.hidden_size), static_cast<long long>(c.num_attention_heads),
              static_cast<long long>(c.num_key_value_heads), static_cast<long long>(c.vocab_size),
              c.tie_word_embeddings ? ", tied embeddings" : "", tensors.c_str(), ms_since(start) / 1000.0);
}

}  // namespace sieve::apps
