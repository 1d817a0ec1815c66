// Named datasets: what a training run's `dataset` string resolves to.
//
//   gcide, foldoc     Debian's dict-gcide / dict-foldoc dictionaries (corpus_registry.h); no
//                     validation split of their own
//   wikitext-103,     the WikiText "raw" releases, read from a local data directory (there is no
//   wikitext-2        download): wiki.train.raw and wiki.valid.raw, which bring their own
//                     validation split (wiki.test.raw is noted when present, never trained on)
//   a directory       holding wiki.train.raw + wiki.valid.raw: read as a WikiText release
//   a file            any format corpus.h reads; no validation split of its own
//
// The data directory is the explicit one given (`--data-dir`), else $SIEVE_DATA. A WikiText
// release is found in any of the layouts its archives unpack to, relative to that directory:
// <dir>/wikitext-103-raw/, <dir>/wikitext-103/, <dir>/wikitext-103-raw-v1/ (the same for
// wikitext-2), or <dir> itself when it is one of those folders.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sieve::data {

inline constexpr const char* kDataDirEnv = "SIEVE_DATA";

struct DatasetFiles {
  std::string name;                                 // as requested
  std::vector<std::filesystem::path> train;         // the text trained on
  std::vector<std::filesystem::path> validation;    // empty: no split of its own
  std::filesystem::path test;                       // WikiText's test file when present, else empty

  bool has_own_validation() const { return !validation.empty(); }
};

// `explicit_dir` when not empty, else $SIEVE_DATA, else an empty path.
std::filesystem::path resolve_data_dir(const std::filesystem::path& explicit_dir);

// Resolves a dataset name or path (see the table above). Throws core::UserError: for an unknown
// name that is no readable file or WikiText directory; for a named dictionary whose Debian
// package is missing; for WikiText without a data directory, or with its files absent — the
// message names the dataset, every directory searched and exactly which files to put where.
DatasetFiles resolve_dataset(const std::string& name_or_path, const std::filesystem::path& data_dir = {});

// Every known dataset name: gcide, foldoc, wikitext-103, wikitext-2.
std::vector<std::string> dataset_names();

}  // namespace sieve::data
