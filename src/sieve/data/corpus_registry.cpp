#include "sieve/data/corpus_registry.h"

#include "sieve/core/error.h"

namespace sieve::data {
namespace {

struct NamedCorpus {
  const char* name;
  const char* path;
  const char* package;
};

constexpr NamedCorpus kNamed[] = {
    {"gcide", "/usr/share/dictd/gcide.dict.dz", "dict-gcide"},
    {"foldoc", "/usr/share/dictd/foldoc.dict.dz", "dict-foldoc"},
};

}  // namespace

std::vector<std::string> corpus_names() {
  std::vector<std::string> names;
  for (const auto& corpus : kNamed) names.emplace_back(corpus.name);
  return names;
}

std::filesystem::path resolve_corpus(const std::string& name_or_path) {
  for (const auto& corpus : kNamed) {
    if (name_or_path != corpus.name) continue;
    SIEVE_USER_CHECK(std::filesystem::exists(corpus.path),
                     "corpus '{}' needs {} (install the Debian package {}: scripts/install-deps.sh)", corpus.name,
                     corpus.path, corpus.package);
    return corpus.path;
  }
  SIEVE_USER_CHECK(std::filesystem::is_regular_file(name_or_path),
                   "corpus '{}' is neither a known name (gcide, foldoc) nor a readable file", name_or_path);
  return name_or_path;
}

}  // namespace sieve::data
