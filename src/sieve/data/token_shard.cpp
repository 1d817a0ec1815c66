#include "sieve/data/token_shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "sieve/core/error.h"

namespace sieve::data {

static_assert(std::endian::native == std::endian::little,
              "token shards are little-endian; a big-endian host needs byte swaps here");

namespace {

constexpr std::string_view kMagic = "SIEVETOK";
constexpr std::size_t kFlushBytes = std::size_t{1} << 20;

struct Header {
  std::uint32_t version;
  std::uint32_t token_bytes;
  std::uint64_t count;
  std::uint32_t vocab_size;
  std::int32_t separator_id;
};

std::array<std::byte, kTokenShardHeaderBytes> encode_header(const Header& h) {
  std::array<std::byte, kTokenShardHeaderBytes> bytes{};
  std::memcpy(bytes.data(), kMagic.data(), 8);
  std::memcpy(bytes.data() + 8, &h.version, 4);
  std::memcpy(bytes.data() + 12, &h.token_bytes, 4);
  std::memcpy(bytes.data() + 16, &h.count, 8);
  std::memcpy(bytes.data() + 24, &h.vocab_size, 4);
  std::memcpy(bytes.data() + 28, &h.separator_id, 4);
  return bytes;
}

int token_bytes_for(int vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

std::int32_t load_token(const std::byte* tokens, int token_bytes, std::int64_t index) {
  if (token_bytes == 2) {
    std::uint16_t v;
    std::memcpy(&v, tokens + index * 2, 2);
    return v;
  }
  std::uint32_t v;
  std::memcpy(&v, tokens + index * 4, 4);
  return static_cast<std::int32_t>(v);
}

}  // namespace

// --- writer -----------------------------------------------------------------------------------

TokenShardWriter::TokenShardWriter(std::filesystem::path path, int vocab_size, int separator_id)
    : file_(std::move(path)),
      vocab_size_(vocab_size),
      separator_id_(separator_id),
      token_bytes_(token_bytes_for(vocab_size)) {
  SIEVE_CHECK(vocab_size > 0, "token shard vocabulary size {} must be positive", vocab_size);
  SIEVE_CHECK(separator_id >= -1 && separator_id < vocab_size,
              "separator id {} outside the vocabulary [0, {})", separator_id, vocab_size);
  // Placeholder header; commit() rewrites it with the final count.
  file_.write(encode_header({kTokenShardVersion, 0, 0, 0, 0}));
  buffer_.reserve(kFlushBytes + 4096);
}

void TokenShardWriter::append(std::span<const std::int32_t> tokens) {
  for (const std::int32_t id : tokens) {
    SIEVE_CHECK(id >= 0 && id < vocab_size_, "token id {} outside the vocabulary [0, {})", id,
                vocab_size_);
    const std::size_t at = buffer_.size();
    buffer_.resize(at + static_cast<std::size_t>(token_bytes_));
    if (token_bytes_ == 2) {
      const auto v = static_cast<std::uint16_t>(id);
      std::memcpy(buffer_.data() + at, &v, 2);
    } else {
      const auto v = static_cast<std::uint32_t>(id);
      std::memcpy(buffer_.data() + at, &v, 4);
    }
  }
  count_ += static_cast<std::int64_t>(tokens.size());
  if (buffer_.size() >= kFlushBytes) flush();
}

void TokenShardWriter::append_document(std::span<const std::int32_t> tokens) {
  SIEVE_CHECK(separator_id_ >= 0, "append_document on a shard without a separator id");
  append(tokens);
  const std::int32_t separator = separator_id_;
  append(std::span<const std::int32_t>(&separator, 1));
  ++documents_;
}

void TokenShardWriter::flush() {
  file_.write(buffer_);
  buffer_.clear();
}

void TokenShardWriter::commit() {
  flush();
  file_.write_at(0, encode_header({kTokenShardVersion, static_cast<std::uint32_t>(token_bytes_),
                                   static_cast<std::uint64_t>(count_),
                                   static_cast<std::uint32_t>(vocab_size_), separator_id_}));
  file_.commit();
}

void write_token_shard(const std::filesystem::path& path, std::span<const std::int32_t> tokens,
                       int vocab_size, int separator_id) {
  TokenShardWriter writer(path, vocab_size, separator_id);
  writer.append(tokens);
  writer.commit();
}

// --- reader -----------------------------------------------------------------------------------

TokenShard TokenShard::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SIEVE_USER_CHECK(fd >= 0, "cannot open token shard '{}': {}", name, std::strerror(errno));
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const int stat_errno = errno;
  if (!stat_ok || !S_ISREG(st.st_mode)) {
    ::close(fd);
    core::throw_user_error("token shard '{}' is not a regular file{}", name,
                           stat_ok ? "" : std::string(": ") + std::strerror(stat_errno));
  }
  const auto file_bytes = static_cast<std::uint64_t>(st.st_size);
  if (file_bytes < kTokenShardHeaderBytes) {
    ::close(fd);
    core::throw_user_error(
        "'{}' is not a token shard: {} bytes, shorter than the {}-byte header (truncated or the "
        "wrong file)",
        name, file_bytes, kTokenShardHeaderBytes);
  }

  TokenShard shard;
  shard.path_ = path;
  shard.map_bytes_ = static_cast<std::size_t>(file_bytes);
  shard.map_ = ::mmap(nullptr, shard.map_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (shard.map_ == MAP_FAILED) {
    shard.map_ = nullptr;
    core::throw_user_error("cannot memory-map token shard '{}': {}", name,
                           std::strerror(map_errno));
  }

  // From here `shard` owns the mapping; a throw unmaps it.
  const auto* bytes = static_cast<const std::byte*>(shard.map_);
  SIEVE_USER_CHECK(std::memcmp(bytes, kMagic.data(), 8) == 0,
                   "'{}' is not a token shard (expected the magic \"SIEVETOK\" at its start)",
                   name);
  Header h{};
  std::memcpy(&h.version, bytes + 8, 4);
  std::memcpy(&h.token_bytes, bytes + 12, 4);
  std::memcpy(&h.count, bytes + 16, 8);
  std::memcpy(&h.vocab_size, bytes + 24, 4);
  std::memcpy(&h.separator_id, bytes + 28, 4);
  SIEVE_USER_CHECK(h.version == kTokenShardVersion,
                   "token shard '{}' has format version {} (this build reads version {}); "
                   "re-run dataset preparation",
                   name, h.version, kTokenShardVersion);
  SIEVE_USER_CHECK(h.token_bytes == 2 || h.token_bytes == 4,
                   "token shard '{}' is damaged: {} bytes per token (expected 2 or 4)", name,
                   h.token_bytes);
  SIEVE_USER_CHECK(h.vocab_size > 0 && h.vocab_size <= 0x7fffffffu &&
                       (h.token_bytes == 4 || h.vocab_size <= 65536),
                   "token shard '{}' is damaged: vocabulary size {} with {}-byte tokens", name,
                   h.vocab_size, h.token_bytes);
  SIEVE_USER_CHECK(h.separator_id >= -1 && h.separator_id < static_cast<std::int64_t>(h.vocab_size),
                   "token shard '{}' is damaged: separator id {} outside the vocabulary [0, {})",
                   name, h.separator_id, h.vocab_size);
  const std::uint64_t payload = file_bytes - kTokenShardHeaderBytes;
  SIEVE_USER_CHECK(h.count <= payload / h.token_bytes && h.count * h.token_bytes == payload,
                   "token shard '{}' is truncated or damaged: its header promises {} tokens of {} "
                   "bytes but the file holds {} bytes of tokens",
                   name, h.count, h.token_bytes, payload);

  shard.tokens_ = bytes + kTokenShardHeaderBytes;
  shard.count_ = static_cast<std::int64_t>(h.count);
  shard.vocab_size_ = static_cast<int>(h.vocab_size);
  shard.separator_id_ = h.separator_id;
  shard.token_bytes_ = static_cast<int>(h.token_bytes);

  // Ids index embedding tables downstream; one bad id must be an error here, not a wild read.
  const std::int64_t vocab = shard.vocab_size_;
  for (std::int64_t i = 0; i < shard.count_; ++i) {
    const std::int32_t id = load_token(shard.tokens_, shard.token_bytes_, i);
    if (id < 0 || id >= vocab) [[unlikely]] {
      core::throw_user_error(
          "token shard '{}' is damaged: token {} is id {}, outside the vocabulary [0, {})", name,
          i, id, vocab);
    }
  }
  return shard;
}

TokenShard::TokenShard(TokenShard&& other) noexcept { *this = std::move(other); }

TokenShard& TokenShard::operator=(TokenShard&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
    tokens_ = std::exchange(other.tokens_, nullptr);
    count_ = std::exchange(other.count_, 0);
    vocab_size_ = other.vocab_size_;
    separator_id_ = other.separator_id_;
    token_bytes_ = other.token_bytes_;
  }
  return *this;
}

TokenShard::~TokenShard() { release(); }

void TokenShard::release() {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
  map_ = nullptr;
}

std::int32_t TokenShard::operator[](std::int64_t index) const {
  SIEVE_CHECK(index >= 0 && index < count_, "token index {} outside the shard [0, {})", index,
              count_);
  return load_token(tokens_, token_bytes_, index);
}

void TokenShard::read(std::int64_t begin, std::span<std::int64_t> out) const {
  const auto n = static_cast<std::int64_t>(out.size());
  SIEVE_CHECK(begin >= 0 && n <= count_ && begin <= count_ - n,
              "token range [{}, {}) outside the shard [0, {})", begin, begin + n, count_);
  if (token_bytes_ == 2) {
    const std::byte* p = tokens_ + begin * 2;
    for (std::int64_t i = 0; i < n; ++i) {
      std::uint16_t v;
      std::memcpy(&v, p + i * 2, 2);
      out[static_cast<std::size_t>(i)] = v;
    }
  } else {
    const std::byte* p = tokens_ + begin * 4;
    for (std::int64_t i = 0; i < n; ++i) {
      std::uint32_t v;
      std::memcpy(&v, p + i * 4, 4);
      out[static_cast<std::size_t>(i)] = v;
    }
  }
}

std::vector<std::int32_t> TokenShard::to_vector() const {
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(count_));
  for (std::int64_t i = 0; i < count_; ++i) {
    tokens[static_cast<std::size_t>(i)] = load_token(tokens_, token_bytes_, i);
  }
  return tokens;
}

}  // namespace sieve::data
