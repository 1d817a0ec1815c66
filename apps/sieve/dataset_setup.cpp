#include "apps/sieve/dataset_setup.h"

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "sieve/core/error.h"
#include "sieve/data/corpus_registry.h"

namespace sieve::apps {

namespace fs = std::filesystem;

data::PrepareResult prepare_cached_dataset(const fs::path& data_dir, const DatasetRecipe& recipe,
                                           const data::Tokenizer& tokenizer) {
  SIEVE_USER_CHECK(!recipe.corpora.empty(), "--data: give at least one corpus (gcide, foldoc, or a file)");
  std::vector<fs::path> corpora;
  for (const auto& spec : recipe.corpora) corpora.push_back(data::resolve_corpus(spec));
  const nlohmann::json recorded{{"corpora", recipe.corpora},       {"max_documents", recipe.max_documents},
                                {"max_bytes", recipe.max_bytes},   {"val_fraction", recipe.val_fraction},
                                {"seed", recipe.seed},             {"vocab_size", tokenizer.vocab_size()}};
  const fs::path recipe_file = data_dir / "recipe.json";
  data::PrepareResult result;
  result.train_path = data_dir / "train.bin";
  result.val_path = data_dir / "val.bin";
  if (fs::exists(recipe_file) && fs::exists(result.train_path) && fs::exists(result.val_path)) {
    std::ifstream in(recipe_file);
    if (nlohmann::json::parse(in, nullptr, false) == recorded) return result;
  }
  data::PrepareOptions options;
  options.corpora = corpora;
  options.out_dir = data_dir;
  options.split = {.val_fraction = recipe.val_fraction, .seed = recipe.seed};
  options.max_documents = recipe.max_documents;
  options.max_bytes = recipe.max_bytes;
  result = data::prepare_dataset(tokenizer, options);
  std::ofstream(recipe_file) << recorded.dump(2) << '\n';
  std::fprintf(stderr, "dataset: %lld train tokens (%lld documents), %lld validation tokens (%lld documents)\n",
               static_cast<long long>(result.train_tokens), static_cast<long long>(result.train_documents),
               static_cast<long long>(result.val_tokens), static_cast<long long>(result.val_documents));
  return result;
}

}  // namespace sieve::apps
