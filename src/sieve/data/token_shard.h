// Token shards: a tokenized corpus on disk, read back memory-mapped.
//
// File layout (little-endian), 32-byte header then the tokens:
//   offset  0  char[8]  magic "SIEVETOK"
//           8  u32      format version (1)
//          12  u32      bytes per token: 2 (uint16, when every id fits: vocab <= 65536) or 4
//          16  u64      token count
//          24  u32      vocabulary size (every token id is below it)
//          28  i32      document separator id, or -1
//          32  tokens
//
// Documents are stored each followed by the separator — the tokenizer's EOS id — so the stream
// reads doc0 EOS doc1 EOS ... docN EOS. A model trained on it learns to end a document with EOS
// and a generator can stop there; no BOS is stored (a window rarely starts at a document start,
// so BOS would mostly be noise).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "sieve/core/atomic_file.h"

namespace sieve::data {

inline constexpr std::uint32_t kTokenShardVersion = 1;
inline constexpr std::size_t kTokenShardHeaderBytes = 32;

// Streams tokens into a shard; nothing is visible at `path` until commit(), which writes the
// final header and publishes the file atomically (see atomic_file.h).
class TokenShardWriter {
 public:
  // `separator_id` is the id appended by append_document, or -1 if documents are not used.
  TokenShardWriter(std::filesystem::path path, int vocab_size, int separator_id);

  // Ids must lie in [0, vocab_size) (a contract: they come from the tokenizer).
  void append(std::span<const std::int32_t> tokens);
  // The document's tokens followed by the separator.
  void append_document(std::span<const std::int32_t> tokens);

  std::int64_t token_count() const { return count_; }
  std::int64_t document_count() const { return documents_; }
  void commit();

 private:
  void flush();

  core::AtomicFileWriter file_;
  int vocab_size_;
  int separator_id_;
  int token_bytes_;
  std::int64_t count_ = 0;
  std::int64_t documents_ = 0;
  std::vector<std::byte> buffer_;
};

// Writes `tokens` as one shard (convenience for small streams and tests).
void write_token_shard(const std::filesystem::path& path, std::span<const std::int32_t> tokens,
                       int vocab_size, int separator_id);

// A read-only, memory-mapped shard. open() validates the header against the file size and
// checks every id is below the vocabulary size, so a reader can index an embedding with them.
// Move-only; the mapping lives as long as the object.
class TokenShard {
 public:
  // Throws core::UserError naming the file for a missing file, wrong magic or version, or a
  // size that does not match the header (truncated or damaged).
  static TokenShard open(const std::filesystem::path& path);

  TokenShard(TokenShard&& other) noexcept;
  TokenShard& operator=(TokenShard&& other) noexcept;
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;
  ~TokenShard();

  std::int64_t size() const { return count_; }
  int vocab_size() const { return vocab_size_; }
  int separator_id() const { return separator_id_; }
  int token_bytes() const { return token_bytes_; }
  const std::filesystem::path& path() const { return path_; }

  std::int32_t operator[](std::int64_t index) const;
  // Copies tokens [begin, begin + out.size()) into `out`, widened to int64 (the dtype the
  // embedding and loss take). The range must lie within the shard.
  void read(std::int64_t begin, std::span<std::int64_t> out) const;
  std::vector<std::int32_t> to_vector() const;

 private:
  TokenShard() = default;
  void release();

  std::filesystem::path path_;
  void* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  const std::byte* tokens_ = nullptr;
  std::int64_t count_ = 0;
  int vocab_size_ = 0;
  int separator_id_ = -1;
  int token_bytes_ = 0;
};

}  // namespace sieve::data
