// Builds a trifashion data directory (format.h) from Debian's Fashion-MNIST and WordNet.
//
// Everything random comes from one seed (a separate core::Rng stream per part, derived from
// it), and nothing time- or path-dependent is written, so a seed and size give byte-identical
// files. Train scenes use only Fashion-MNIST's training images, test scenes only its test
// images. The directory is built beside --out under a temporary name and renamed into place
// when complete: an interrupted build leaves no half-written data set, and an existing one is
// replaced (with `force`) only once the new one is finished.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "sieve/data/trifashion/format.h"
#include "sieve/data/wordnet.h"

namespace sieve::data::trifashion {

struct SizePreset {
  const char* name;
  std::int64_t classification_train;  // single images (a seeded subset when < the split's size)
  std::int64_t classification_test;
  std::int64_t scenes_train;
  std::int64_t scenes_test;
  std::int64_t retrieval_pool;  // test scenes with distinct layouts
  int questions_per_type;       // per scene, before rejection (NOTE [Answer balance])
};

// tiny (tests: ~1 s), small (the default), full (benchmarks).
std::span<const SizePreset> size_presets();
// Throws core::UserError listing the presets for an unknown name.
const SizePreset& size_preset(std::string_view name);

struct BuildOptions {
  std::filesystem::path out;
  std::string size = "small";
  std::uint64_t seed = 1;
  std::filesystem::path fashion_dir = kDefaultFashionDir;
  std::filesystem::path wordnet_dir = kDefaultWordNetDir;
  bool force = false;  // replace an existing non-empty `out`
  std::function<void(const std::string&)> progress;  // one line per stage; may be empty
};

struct BuildSummary {
  std::int64_t classification_train = 0;
  std::int64_t classification_test = 0;
  std::int64_t scenes_train = 0;
  std::int64_t scenes_test = 0;
  std::int64_t captions = 0;
  std::int64_t questions = 0;
  std::int64_t pairs = 0;
  std::int64_t heldout_captions = 0;
  std::int64_t heldout_questions = 0;
  std::int64_t utterances = 0;
  std::int64_t retrieval_pool = 0;
  std::int64_t tokenizer_vocab = 0;
  std::int64_t clips = 0;        // spoken clips (audio/)
  double audio_seconds = 0.0;    // their length
  std::uint64_t bytes = 0;  // on disk, all files
};

// Throws core::UserError for a bad size, a non-empty `out` without `force`, missing or damaged
// Fashion-MNIST or WordNet files, or a failure to write.
BuildSummary build(const BuildOptions& options);

}  // namespace sieve::data::trifashion
