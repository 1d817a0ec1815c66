// Named corpora: "gcide" and "foldoc" (Debian's dict-gcide and dict-foldoc packages), or a
// path to a file in any format corpus.h reads.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sieve::data {

// Resolves a corpus name or path to a file. Throws core::UserError naming the corpus and, for
// a named one, the Debian package that provides it.
std::filesystem::path resolve_corpus(const std::string& name_or_path);
std::vector<std::string> corpus_names();

}  // namespace sieve::data
