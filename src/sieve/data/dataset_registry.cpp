#include "sieve/data/dataset_registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>

#include "sieve/core/error.h"
#include "sieve/data/corpus_registry.h"

namespace sieve::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTrainFile = "wiki.train.raw";
constexpr const char* kValidFile = "wiki.valid.raw";
constexpr const char* kTestFile = "wiki.test.raw";
// The tokenized release (with <unk>), which people often have instead of the raw one.
constexpr const char* kTokensTrainFile = "wiki.train.tokens";

struct WikitextRelease {
  const char* name;     // wikitext-103
  const char* archive;  // the archive the raw files come in, named in messages
};

constexpr WikitextRelease kWikitext[] = {
    {"wikitext-103", "wikitext-103-raw-v1.zip"},
    {"wikitext-2", "wikitext-2-raw-v1.zip"},
};

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool is_dir(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool has_wikitext_files(const fs::path& dir) { return is_file(dir / kTrainFile) && is_file(dir / kValidFile); }

DatasetFiles wikitext_files(const std::string& name, const fs::path& dir) {
  DatasetFiles files;
  files.name = name;
  files.train = {dir / kTrainFile};
  files.validation = {dir / kValidFile};
  if (is_file(dir / kTestFile)) files.test = dir / kTestFile;
  return files;
}

// The folders a release may sit in, most common first: the raw archive unpacks to
// wikitext-103-raw/, people also rename it wikitext-103/, and Hugging Face names the config
// wikitext-103-raw-v1.
std::vector<fs::path> wikitext_candidates(const WikitextRelease& release, const fs::path& data_dir) {
  const std::string base = release.name;
  std::vector<fs::path> dirs;
  for (const std::string& folder : {base + "-raw", base, base + "-raw-v1"}) {
    if (data_dir.filename() == folder) dirs.push_back(data_dir);  // the data dir is the folder itself
    dirs.push_back(data_dir / folder);
  }
  return dirs;
}

DatasetFiles resolve_wikitext(const WikitextRelease& release, const fs::path& explicit_dir) {
  const fs::path data_dir = resolve_data_dir(explicit_dir);
  const std::string where = fmt::format("{}/{}-raw/", data_dir.empty() ? "DIR" : data_dir.string(), release.name);
  const std::string put_files = fmt::format(
      "put {} and {} ({} optional) from the {} release ({}) in {}", kTrainFile, kValidFile, kTestFile, release.name,
      release.archive, where);
  SIEVE_USER_CHECK(!data_dir.empty(),
                   "dataset '{}' is read from a local data directory and none is set: pass --data-dir DIR (the "
                   "data_dir option) or set {}=DIR, and {}. Sieve does not download datasets.",
                   release.name, kDataDirEnv, put_files);
  const std::string source = explicit_dir.empty() ? fmt::format("${}", kDataDirEnv) : std::string("--data-dir");
  SIEVE_USER_CHECK(is_dir(data_dir),
                   "dataset '{}': the data directory '{}' (from {}) does not exist; create it and {}. Sieve does "
                   "not download datasets.",
                   release.name, data_dir.string(), source, put_files);

  const std::vector<fs::path> candidates = wikitext_candidates(release, data_dir);
  for (const auto& dir : candidates)
    if (has_wikitext_files(dir)) return wikitext_files(release.name, dir);

  // Not found: say what is there, so a half-copied release or the tokenized variant is obvious.
  std::string found;
  for (const auto& dir : candidates) {
    if (!is_dir(dir)) continue;
    std::vector<std::string> missing;
    for (const char* file : {kTrainFile, kValidFile})
      if (!is_file(dir / file)) missing.emplace_back(file);
    found += fmt::format(" '{}' exists but lacks {}.", dir.string(), fmt::join(missing, " and "));
    if (is_file(dir / kTokensTrainFile))
      found += fmt::format(" It holds the tokenized release ({}); Sieve trains on the raw one (*.raw).",
                           kTokensTrainFile);
  }
  std::vector<std::string> searched;
  for (const auto& dir : candidates) searched.push_back(dir.string());
  core::throw_user_error(
      "dataset '{}' not found in the data directory '{}' (from {}; searched {}).{} To use it, {}. Sieve does not "
      "download datasets.",
      release.name, data_dir.string(), source, fmt::join(searched, ", "), found, put_files);
}

}  // namespace

fs::path resolve_data_dir(const fs::path& explicit_dir) {
  if (!explicit_dir.empty()) return explicit_dir;
  const char* env = std::getenv(kDataDirEnv);
  return env != nullptr ? fs::path(env) : fs::path();
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names = corpus_names();
  for (const auto& release : kWikitext) names.emplace_back(release.name);
  return names;
}

DatasetFiles resolve_dataset(const std::string& name_or_path, const fs::path& data_dir) {
  SIEVE_USER_CHECK(!name_or_path.empty(), "the dataset name is empty (known: {}, or a path to text)",
                   fmt::join(dataset_names(), ", "));
  for (const auto& release : kWikitext)
    if (name_or_path == release.name) return resolve_wikitext(release, data_dir);
  for (const auto& name : corpus_names())
    if (name_or_path == name) return {.name = name, .train = {resolve_corpus(name)}, .validation = {}, .test = {}};
  if (is_dir(name_or_path)) {
    SIEVE_USER_CHECK(has_wikitext_files(name_or_path),
                     "dataset '{}' is a directory but not a WikiText release (expected {} and {} in it)",
                     name_or_path, kTrainFile, kValidFile);
    return wikitext_files(name_or_path, name_or_path);
  }
  SIEVE_USER_CHECK(is_file(name_or_path),
                   "dataset '{}' is neither a known name ({}) nor a readable file or WikiText directory",
                   name_or_path, fmt::join(dataset_names(), ", "));
  return {.name = name_or_path, .train = {name_or_path}, .validation = {}, .test = {}};
}

}  // namespace sieve::data
