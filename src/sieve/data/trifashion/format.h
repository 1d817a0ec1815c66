// The on-disk layout of a trifashion data directory, shared by the builder and the reader.
//
//   manifest.json                 format, version, seed, size, counts, vocabularies, phrasings,
//                                 answer counts and the file list (with each array's dtype/shape)
//   classify_{train,test}_images.bin   u8  [N, 28, 28]  single Fashion-MNIST items
//   classify_{train,test}_labels.bin   u8  [N]          class 0..9
//   classify_{train,test}_sources.bin  i32 [N]          index in the split's Fashion-MNIST file
//   scenes_{train,test}_images.bin     u8  [S, 56, 56]  2×2 grids
//   scenes_{train,test}_items.bin      i32 [S, 4, 2]    per cell (row-major): class, source index
//   retrieval_pool.bin                 i32 [P]          test scene indices, distinct layouts
//   captions.jsonl questions.jsonl pairs.jsonl utterances.jsonl   records.h, one JSON per line
//   tokenizer.model                    SentencePiece model trained on the train text + phrasings
//
// Arrays are array_file.h files. Nothing else is written: the directory is byte-identical for a
// seed and size (and the same Fashion-MNIST and WordNet files).
#pragma once

#include <string>
#include <string_view>

namespace sieve::data::trifashion {

inline constexpr std::string_view kFormatName = "sieve-trifashion";
inline constexpr int kFormatVersion = 1;
inline constexpr const char* kDefaultFashionDir = "/usr/share/datasets/fashion-mnist";

inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kCaptionsFile = "captions.jsonl";
inline constexpr const char* kQuestionsFile = "questions.jsonl";
inline constexpr const char* kPairsFile = "pairs.jsonl";
inline constexpr const char* kUtterancesFile = "utterances.jsonl";
inline constexpr const char* kTokenizerFile = "tokenizer.model";
inline constexpr const char* kRetrievalPoolFile = "retrieval_pool.bin";

// "classify_train_images.bin" and the like: `what` is images, labels, sources or items.
inline std::string array_file_name(std::string_view group, std::string_view split, std::string_view what) {
  return std::string(group) + "_" + std::string(split) + "_" + std::string(what) + ".bin";
}

}  // namespace sieve::data::trifashion
