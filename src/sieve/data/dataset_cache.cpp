#include "sieve/data/dataset_cache.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/data/dataset_registry.h"

namespace sieve::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRecipeFile = "recipe.json";

// FNV-1a over the tokenizer's model bytes: two tokenizers of one vocabulary size encode
// differently, so the size alone cannot tell a cache is stale.
std::uint64_t fingerprint(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

nlohmann::json describe_file(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  return {{"path", fs::absolute(path).lexically_normal().string()},
          {"bytes", static_cast<std::int64_t>(size)},
          {"mtime", static_cast<std::int64_t>(mtime)}};
}

nlohmann::json describe_files(const std::vector<fs::path>& paths) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& path : paths) files.push_back(describe_file(path));
  return files;
}

std::int64_t shard_bytes(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? -1 : static_cast<std::int64_t>(size);
}

PrepareOptions prepare_options(const std::vector<fs::path>& corpora, const fs::path& out_dir,
                               const DatasetRecipe& recipe, double val_fraction) {
  PrepareOptions options;
  options.corpora = corpora;
  options.out_dir = out_dir;
  options.split = {.val_fraction = val_fraction, .seed = recipe.seed};
  options.max_documents = recipe.max_documents;
  options.max_bytes = recipe.max_bytes;
  options.progress = recipe.log;
  return options;
}

// Tokenizes `corpora` whole into `destination` (a train-only preparation in a scratch folder,
// whose train shard is then moved into place).
PrepareResult prepare_whole(const Tokenizer& tokenizer, const std::vector<fs::path>& corpora, const fs::path& scratch,
                            const fs::path& destination, const DatasetRecipe& recipe) {
  PrepareResult part = prepare_dataset(tokenizer, prepare_options(corpora, scratch, recipe, 0.0));
  fs::rename(part.train_path, destination);
  fs::remove_all(scratch);
  part.train_path = destination;
  return part;
}

}  // namespace

CachedDataset prepare_cached_dataset(const fs::path& cache_dir, const DatasetRecipe& recipe,
                                     const Tokenizer& tokenizer) {
  SIEVE_USER_CHECK(!recipe.datasets.empty(), "no dataset given (gcide, foldoc, wikitext-103, wikitext-2, or a file)");
  std::vector<DatasetFiles> datasets;
  for (const auto& name : recipe.datasets) datasets.push_back(resolve_dataset(name, recipe.data_dir));
  std::vector<fs::path> train_files, validation_files;
  std::vector<std::string> own, random;
  for (const auto& dataset : datasets) {
    train_files.insert(train_files.end(), dataset.train.begin(), dataset.train.end());
    validation_files.insert(validation_files.end(), dataset.validation.begin(), dataset.validation.end());
    (dataset.has_own_validation() ? own : random).push_back(dataset.name);
  }
  SIEVE_USER_CHECK(own.empty() || random.empty(),
                   "datasets with their own validation split ({}) cannot be mixed in one run with datasets that "
                   "are split at random ({}); train on them in separate runs",
                   nlohmann::json(own).dump(), nlohmann::json(random).dump());
  const bool own_validation = !own.empty();

  const std::string tokenizer_bytes = tokenizer.serialized();
  const nlohmann::json wanted{{"datasets", recipe.datasets},
                              {"train_files", describe_files(train_files)},
                              {"validation_files", describe_files(validation_files)},
                              {"max_documents", recipe.max_documents},
                              {"max_bytes", recipe.max_bytes},
                              {"val_fraction", own_validation ? 0.0 : recipe.val_fraction},
                              {"seed", recipe.seed},
                              {"vocab_size", tokenizer.vocab_size()},
                              {"tokenizer_fnv1a", fingerprint(tokenizer_bytes)}};

  CachedDataset result;
  result.own_validation = own_validation;
  PrepareResult& shards = result.shards;
  shards.train_path = cache_dir / "train.bin";
  shards.val_path = cache_dir / "val.bin";
  const fs::path recipe_file = cache_dir / kRecipeFile;

  std::ifstream in(recipe_file);
  const nlohmann::json recorded = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
  if (recorded.is_object() && recorded.value("recipe", nlohmann::json()) == wanted &&
      recorded.value("train_bytes", -2) == shard_bytes(shards.train_path) &&
      recorded.value("val_bytes", -2) == shard_bytes(shards.val_path)) {
    shards.train_tokens = recorded.at("train_tokens").get<std::int64_t>();
    shards.val_tokens = recorded.at("val_tokens").get<std::int64_t>();
    shards.train_documents = recorded.at("train_documents").get<std::int64_t>();
    shards.val_documents = recorded.at("val_documents").get<std::int64_t>();
    result.reused = true;
    if (recipe.log)
      std::fprintf(stderr, "dataset: reusing %s (%lld train tokens, %lld validation tokens)\n",
                   cache_dir.c_str(), static_cast<long long>(shards.train_tokens),
                   static_cast<long long>(shards.val_tokens));
    return result;
  }

  // The old record goes first: should this build stop half way, no record may vouch for
  // shards of which one is new and one old.
  std::error_code ignored;
  fs::remove(recipe_file, ignored);
  fs::create_directories(cache_dir);
  if (own_validation) {
    const PrepareResult train = prepare_whole(tokenizer, train_files, cache_dir / "train-part", shards.train_path, recipe);
    const PrepareResult val = prepare_whole(tokenizer, validation_files, cache_dir / "val-part", shards.val_path, recipe);
    shards.train_tokens = train.train_tokens;
    shards.train_documents = train.train_documents;
    shards.val_tokens = val.train_tokens;
    shards.val_documents = val.train_documents;
    shards.text_bytes = train.text_bytes + val.text_bytes;
    SIEVE_USER_CHECK(shards.val_tokens > 0, "the validation files of {} hold no text", nlohmann::json(own).dump());
  } else {
    shards = prepare_dataset(tokenizer, prepare_options(train_files, cache_dir, recipe, recipe.val_fraction));
  }
  const nlohmann::json record{{"recipe", wanted},
                              {"train_tokens", shards.train_tokens},
                              {"val_tokens", shards.val_tokens},
                              {"train_documents", shards.train_documents},
                              {"val_documents", shards.val_documents},
                              {"train_bytes", shard_bytes(shards.train_path)},
                              {"val_bytes", shard_bytes(shards.val_path)}};
  core::write_file_atomically(recipe_file, record.dump(2) + "\n");
  if (recipe.log)
    std::fprintf(stderr, "dataset: %lld train tokens (%lld documents), %lld validation tokens (%lld documents%s)\n",
                 static_cast<long long>(shards.train_tokens), static_cast<long long>(shards.train_documents),
                 static_cast<long long>(shards.val_tokens), static_cast<long long>(shards.val_documents),
                 own_validation ? ", the datasets' own split" : "");
  return result;
}

}  // namespace sieve::data
