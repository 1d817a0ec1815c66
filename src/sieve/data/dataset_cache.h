// Tokenized datasets cached on disk: the datasets of a run (dataset_registry.h) are tokenized
// into token shards once, and the shards are reused while the recipe that made them — the
// resolved files (path, size, modification time), the caps, the split and the tokenizer's exact
// bytes — is unchanged. Used by `sieve train`, `sieve finetune` and train::MixedPrecisionTrainer.
//
// Validation: a dataset that brings its own split (WikiText's wiki.valid.raw) is validated on it;
// otherwise each document goes to validation with probability val_fraction (split.h). Mixing the
// two kinds in one run is refused: a random split of some datasets next to a fixed split of
// others would make the validation numbers mean something different from run to run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sieve/data/prepare.h"
#include "sieve/data/tokenizer.h"

namespace sieve::data {

struct DatasetRecipe {
  std::vector<std::string> datasets{};  // as the user named them (see dataset_registry.h)
  std::filesystem::path data_dir{};   // where WikiText lives (empty: $SIEVE_DATA)
  // Caps for a quick run (0: none); with an own validation split they apply to each split.
  std::int64_t max_documents = 0;
  std::int64_t max_bytes = 0;
  double val_fraction = 0.01;         // only for datasets without their own validation split
  std::uint64_t seed = 0;             // the random split
  bool log = true;                    // progress and a size line on stderr
};

struct CachedDataset {
  PrepareResult shards;        // paths, token and document counts (filled when reused too)
  bool own_validation = false; // validation comes from the datasets' own split
  bool reused = false;         // the cache matched; nothing was tokenized
};

// Tokenizes into cache_dir/{train,val}.bin unless the shards there were made from the same
// recipe (cache_dir/recipe.json records it). Throws core::UserError for datasets that do not
// resolve, a mix of own and random validation splits, or what prepare_dataset rejects.
CachedDataset prepare_cached_dataset(const std::filesystem::path& cache_dir, const DatasetRecipe& recipe,
                                     const Tokenizer& tokenizer);

}  // namespace sieve::data
