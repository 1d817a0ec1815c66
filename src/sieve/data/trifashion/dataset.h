// Reads a trifashion data directory (format.h) built by `sieve data build trifashion`, checking
// the manifest and every file against it: array dtypes and shapes, label and class ranges,
// source indices, scene, caption, answer and utterance references, and record ids. Any
// mismatch is a core::UserError naming the file and what is wrong.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sieve/data/audio/spoken_set.h"
#include "sieve/data/trifashion/records.h"
#include "sieve/data/trifashion/vocabulary.h"

namespace sieve::data::trifashion {

// `count` images of height × width u8 pixels, back to back, row-major.
struct ImageSet {
  std::int64_t count = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;
  std::vector<std::uint8_t> pixels;

  const std::uint8_t* image(std::int64_t i) const { return pixels.data() + i * height * width; }
};

struct ClassificationSet {
  ImageSet images;                    // 28×28 items
  std::vector<std::uint8_t> labels;   // class 0..9
  std::vector<std::int32_t> sources;  // index in the split's Fashion-MNIST file
};

struct SceneItem {
  int cls = 0;
  std::int32_t source = 0;
};

struct SceneSet {
  ImageSet images;  // 56×56 grids
  std::vector<std::array<SceneItem, kPositionCount>> items;  // per scene, cells row-major
};

struct SplitData {
  ClassificationSet classification;
  SceneSet scenes;
  // Records of this split (held-out phrasings have `heldout` set; only the test split has them).
  std::vector<Caption> captions;
  std::vector<Question> questions;
  std::vector<MatchingPair> pairs;
};

struct Dataset {
  std::filesystem::path dir;
  std::uint64_t seed = 0;
  std::string size;
  std::vector<std::string> class_names;  // Fashion-MNIST's names
  std::vector<std::string> class_words;  // the words sentences use
  std::vector<std::string> answers;      // the answer vocabulary (Question::answer indexes it)
  SplitData train;
  SplitData test;
  std::vector<std::int32_t> retrieval_pool;  // test scene indices with distinct layouts
  std::vector<Utterance> utterances;         // Caption/Question::utterance index this
  std::filesystem::path tokenizer_model;     // dir / "tokenizer.model" (data::Tokenizer::load)
  audio::SpokenSet spoken;                   // the utterances' clips and log-mel features (audio/)
};

Dataset load(const std::filesystem::path& dir);

}  // namespace sieve::data::trifashion
