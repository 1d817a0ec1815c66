// Shared by the verbs that train on a corpus: tokenize the corpora into token shards once, and
// reuse the shards while the settings that made them are unchanged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sieve/data/prepare.h"
#include "sieve/data/tokenizer.h"

namespace sieve::apps {

struct DatasetRecipe {
  std::vector<std::string> corpora;  // as the user named them (gcide, foldoc, a path)
  std::int64_t max_documents = 0;    // 0: all
  std::int64_t max_bytes = 0;        // 0: all
  double val_fraction = 0.01;
  std::uint64_t seed = 0;            // train/validation split
};

// Tokenizes the corpora into data_dir/{train,val}.bin unless shards made from the same recipe
// and tokenizer size are already there (data_dir/recipe.json records it). Corpus names resolve
// through data::resolve_corpus. Prints the dataset's size when it is built.
data::PrepareResult prepare_cached_dataset(const std::filesystem::path& data_dir, const DatasetRecipe& recipe,
                                           const data::Tokenizer& tokenizer);

}  // namespace sieve::apps
