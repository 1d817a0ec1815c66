#include "sieve/convert_torch/zip_archive.h"

#include <zip.h>

#include <set>

#include "sieve/core/error.h"

namespace sieve::convert_torch {
namespace {

std::string libzip_message(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string message = zip_error_strerror(&error);
  zip_error_fini(&error);
  return message;
}

// The local file header before each record's data: 30 fixed bytes, the name, the extra fields.
constexpr std::uint64_t kLocalHeaderBytes = 30;
// The extra field that pads a local header so the data after it is aligned; the ID is the one
// PyTorch's writer uses ("FB").
constexpr zip_uint16_t kPaddingFieldId = 0x4246;
constexpr std::uint64_t kExtraFieldHeaderBytes = 4;
// libzip adds a Zip64 extra field (4 + 16 bytes) to the local header of a record of 4 GiB or more.
constexpr std::uint64_t kZip64LocalFieldBytes = 20;

}  // namespace

void ZipReader::Closer::operator()(zip* archive) const { zip_discard(archive); }

ZipReader::ZipReader(zip* archive, std::string source_name)
    : archive_(archive), source_name_(std::move(source_name)) {
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  std::set<std::string_view> seen;
  names_.reserve(static_cast<std::size_t>(count));
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(archive, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    SIEVE_USER_CHECK(name != nullptr, "{}: record {} has no readable name ({})", source_name_, i,
                     zip_strerror(archive));
    names_.emplace_back(name);
  }
  // Two records of one name could be read differently by two tools: refuse the archive.
  for (const std::string& name : names_)
    SIEVE_USER_CHECK(seen.insert(name).second, "{}: the record '{}' appears twice", source_name_, name);
}

ZipReader::~ZipReader() = default;
ZipReader::ZipReader(ZipReader&&) noexcept = default;
ZipReader& ZipReader::operator=(ZipReader&&) noexcept = default;

ZipReader ZipReader::open_file(const std::filesystem::path& path) {
  int code = 0;
  zip* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  SIEVE_USER_CHECK(archive != nullptr, "{}: cannot open as a zip archive ({})", path.string(), libzip_message(code));
  return ZipReader(archive, path.string());
}

ZipReader ZipReader::open_bytes(std::span<const std::byte> bytes, std::string source_name) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  SIEVE_CHECK(source != nullptr, "zip_source_buffer_create: {}", zip_error_strerror(&error));
  zip* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (archive == nullptr) {
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    zip_source_free(source);
    core::throw_user_error("{}: cannot open as a zip archive ({})", source_name, message);
  }
  zip_error_fini(&error);
  return ZipReader(archive, std::move(source_name));
}

std::uint64_t ZipReader::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return i;
  core::throw_user_error("{}: no record '{}'", source_name_, name);
}

std::optional<std::uint64_t> ZipReader::size_of(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] != name) continue;
    zip_stat_t stat;
    zip_stat_init(&stat);
    SIEVE_USER_CHECK(zip_stat_index(archive_.get(), i, 0, &stat) == 0 && (stat.valid & ZIP_STAT_SIZE),
                     "{}: cannot read the directory entry of '{}' ({})", source_name_, name,
                     zip_strerror(archive_.get()));
    return stat.size;
  }
  return std::nullopt;
}

void ZipReader::read_into(std::string_view name, std::span<std::byte> out) const {
  const std::uint64_t index = index_of(name);
  const auto size = size_of(name);
  SIEVE_USER_CHECK(size && *size == out.size(), "{}: record '{}' holds {} bytes, expected {}", source_name_, name,
                   size.value_or(0), out.size());
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(zip_fopen_index(archive_.get(), index, 0), zip_fclose);
  SIEVE_USER_CHECK(file != nullptr, "{}: cannot read record '{}' ({})", source_name_, name,
                   zip_strerror(archive_.get()));
  std::uint64_t done = 0;
  while (done < out.size()) {
    const zip_int64_t got = zip_fread(file.get(), out.data() + done, out.size() - done);
    SIEVE_USER_CHECK(got >= 0, "{}: record '{}' is corrupt ({})", source_name_, name, zip_file_strerror(file.get()));
    SIEVE_USER_CHECK(got > 0, "{}: record '{}' ends after {} of its {} bytes", source_name_, name, done, out.size());
    done += static_cast<std::uint64_t>(got);
  }
  // libzip checks the record's CRC when a read reaches its end.
  std::byte past_end;
  const zip_int64_t extra = zip_fread(file.get(), &past_end, 1);
  SIEVE_USER_CHECK(extra == 0, "{}: record '{}' is corrupt ({})", source_name_, name,
                   extra < 0 ? zip_file_strerror(file.get()) : "more data than its directory entry says");
}

std::string ZipReader::read_text(std::string_view name, std::uint64_t max_bytes, std::string_view what) const {
  const auto size = size_of(name);
  SIEVE_USER_CHECK(size.has_value(), "{}: no record '{}' ({})", source_name_, name, what);
  SIEVE_USER_CHECK(*size <= max_bytes, "{}: record '{}' ({}) holds {} bytes, more than the {} allowed", source_name_,
                   name, what, *size, max_bytes);
  std::string text(*size, '\0');
  read_into(name, std::as_writable_bytes(std::span(text.data(), text.size())));
  return text;
}

ZipWriter::ZipWriter(const std::filesystem::path& path) : path_(path) {
  int code = 0;
  archive_ = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  SIEVE_USER_CHECK(archive_ != nullptr, "{}: cannot create ({})", path.string(), libzip_message(code));
}

ZipWriter::~ZipWriter() {
  if (archive_ != nullptr) zip_discard(archive_);
}

void ZipWriter::add_borrowed(const std::string& name, std::span<const std::byte> bytes) {
  SIEVE_CHECK(archive_ != nullptr, "ZipWriter used after finish()");
  zip_source_t* source = zip_source_buffer(archive_, bytes.data(), bytes.size(), 0);
  SIEVE_CHECK(source != nullptr, "zip_source_buffer: {}", zip_strerror(archive_));
  const zip_int64_t index = zip_file_add(archive_, name.c_str(), source, ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(source);
    core::throw_user_error("{}: cannot add record '{}' ({})", path_.string(), name, zip_strerror(archive_));
  }
  const auto at = static_cast<zip_uint64_t>(index);
  SIEVE_CHECK(zip_set_file_compression(archive_, at, ZIP_CM_STORE, 0) == 0, "zip_set_file_compression: {}",
              zip_strerror(archive_));
  // A fixed time (1980-01-01, the first a zip can hold) so the same model gives the same bytes.
  SIEVE_CHECK(zip_file_set_mtime(archive_, at, 315532800 + 12 * 3600, 0) == 0, "zip_file_set_mtime: {}",
              zip_strerror(archive_));
  // Pad the local header so the data starts on a multiple of kRecordAlignment. libzip writes
  // the records in order, each as local header + data (no data descriptor: the file is seekable).
  const std::uint64_t zip64 = bytes.size() >= 0xFFFFFFFFu ? kZip64LocalFieldBytes : 0;
  const std::uint64_t unpadded = offset_ + kLocalHeaderBytes + name.size() + zip64 + kExtraFieldHeaderBytes;
  const std::uint64_t padding = (kRecordAlignment - unpadded % kRecordAlignment) % kRecordAlignment;
  const std::string fill(padding, 'Z');
  SIEVE_CHECK(zip_file_extra_field_set(archive_, at, kPaddingFieldId, ZIP_EXTRA_FIELD_NEW,
                                       reinterpret_cast<const zip_uint8_t*>(fill.data()),
                                       static_cast<zip_uint16_t>(padding), ZIP_FL_LOCAL) == 0,
              "zip_file_extra_field_set: {}", zip_strerror(archive_));
  offset_ = unpadded + padding + bytes.size();
}

void ZipWriter::add_copy(const std::string& name, std::string text) {
  copies_.push_back(std::move(text));
  add_borrowed(name, std::as_bytes(std::span(copies_.back().data(), copies_.back().size())));
}

void ZipWriter::finish() {
  SIEVE_CHECK(archive_ != nullptr, "ZipWriter::finish() called twice");
  if (zip_close(archive_) != 0)
    core::throw_user_error("{}: cannot write ({})", path_.string(), zip_strerror(archive_));
  archive_ = nullptr;
  copies_.clear();
}

}  // namespace sieve::convert_torch
