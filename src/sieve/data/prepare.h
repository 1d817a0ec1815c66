// Dataset preparation: corpora -> tokenizer -> out_dir/train.bin + out_dir/val.bin (token
// shards, see token_shard.h) + out_dir/dataset.json (what was done, for people and checks).
//
// Documents are numbered in reading order across all corpora; assign_split (split.h) sends each
// to train or validation. Encoding runs on `num_threads` threads; the output does not depend on
// the thread count. A progress line (documents/s, MB/s, ETA) goes to stderr.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "sieve/data/split.h"
#include "sieve/data/tokenizer.h"

namespace sieve::data {

struct PrepareOptions {
  std::vector<std::filesystem::path> corpora;  // formats: see corpus.h
  std::filesystem::path out_dir;               // created if missing
  SplitOptions split;
  // Caps for a quick run: stop after this many documents / bytes of document text (the
  // document that crosses the byte cap is kept). 0 = no cap.
  std::int64_t max_documents = 0;
  std::int64_t max_bytes = 0;
  int num_threads = 2;
  bool progress = true;
};

struct PrepareResult {
  std::filesystem::path train_path;
  std::filesystem::path val_path;
  std::int64_t train_documents = 0;
  std::int64_t val_documents = 0;
  std::int64_t train_tokens = 0;  // including one EOS per document
  std::int64_t val_tokens = 0;
  std::int64_t text_bytes = 0;
  double seconds = 0.0;
};

// Throws core::UserError for bad options, unreadable corpora, a tokenizer without an EOS id, an
// empty train split, or an empty validation split when val_fraction > 0.
PrepareResult prepare_dataset(const Tokenizer& tokenizer, const PrepareOptions& options);

}  // namespace sieve::data
