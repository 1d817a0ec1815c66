#include "sieve/convert_gguf/gguf_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"

namespace sieve::convert_gguf {
namespace {

// Smallest encodings, for bounding counts by the bytes left before allocating for them.
constexpr std::uint64_t kMinKvBytes = 8 + 4 + 1;               // empty key, type, a u8
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, one dim, type, offset

// A bounds-checked little-endian cursor over the file's bytes.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, std::string_view source) : bytes_(bytes), source_(source) {}

  std::uint64_t position() const { return position_; }
  std::uint64_t left() const { return bytes_.size() - position_; }

  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + position_, sizeof(T));
    position_ += sizeof(T);
    return value;
  }

  std::string read_string(std::string_view what) {
    const auto length = read<std::uint64_t>(what);
    need(length, what);
    std::string out(reinterpret_cast<const char*>(bytes_.data() + position_), length);
    position_ += length;
    return out;
  }

  void need(std::uint64_t count, std::string_view what) const {
    if (count > left())
      core::throw_user_error("{}: truncated GGUF file: {} needs {} bytes at offset {}, but only {} are left", source_,
                             what, count, position_, left());
  }

  std::string_view source() const { return source_; }

 private:
  std::span<const std::byte> bytes_;
  std::string_view source_;
  std::uint64_t position_ = 0;
};

struct MetadataBudget {
  std::uint64_t elements = 0;
};

GgufScalar read_scalar(Cursor& in, GgufValueType type, const std::string& key) {
  const std::string what = "the value of '" + key + "'";
  switch (type) {
    case GgufValueType::u8: return std::uint64_t{in.read<std::uint8_t>(what)};
    case GgufValueType::i8: return std::int64_t{in.read<std::int8_t>(what)};
    case GgufValueType::u16: return std::uint64_t{in.read<std::uint16_t>(what)};
    case GgufValueType::i16: return std::int64_t{in.read<std::int16_t>(what)};
    case GgufValueType::u32: return std::uint64_t{in.read<std::uint32_t>(what)};
    case GgufValueType::i32: return std::int64_t{in.read<std::int32_t>(what)};
    case GgufValueType::f32: return double{in.read<float>(what)};
    case GgufValueType::boolean: return std::uint64_t{in.read<std::uint8_t>(what) != 0 ? 1u : 0u};
    case GgufValueType::string: return in.read_string(what);
    case GgufValueType::u64: return in.read<std::uint64_t>(what);
    case GgufValueType::i64: return in.read<std::int64_t>(what);
    case GgufValueType::f64: return in.read<double>(what);
    case GgufValueType::array: break;
  }
  core::throw_user_error("{}: metadata '{}': arrays of arrays are not supported", in.source(), key);
}

GgufValueType read_value_type(Cursor& in, const std::string& key, std::string_view what) {
  const auto raw = in.read<std::uint32_t>(what);
  if (!is_gguf_value_type(raw))
    core::throw_user_error("{}: metadata '{}' has unknown value type {} (GGUF knows 0..12)", in.source(), key, raw);
  return static_cast<GgufValueType>(raw);
}

GgufValue read_value(Cursor& in, const std::string& key, MetadataBudget& budget) {
  GgufValue value;
  value.type = read_value_type(in, key, "a metadata value type");
  if (value.type != GgufValueType::array) {
    value.values.push_back(read_scalar(in, value.type, key));
    return value;
  }
  value.element_type = read_value_type(in, key, "an array element type");
  if (value.element_type == GgufValueType::array)
    core::throw_user_error("{}: metadata '{}': arrays of arrays are not supported", in.source(), key);
  const auto count = in.read<std::uint64_t>("an array length");
  // Every element takes at least this many bytes (a string its 8-byte length).
  const std::uint64_t min_bytes = std::max<std::uint64_t>(gguf_scalar_bytes(value.element_type), 8 * (value.element_type == GgufValueType::string));
  if (count > in.left() / min_bytes)
    core::throw_user_error("{}: truncated GGUF file: metadata '{}' declares {} elements of {}, more than the {} bytes left hold",
                           in.source(), key, count, gguf_value_type_name(value.element_type), in.left());
  if (count > kMaxGgufArrayElements || count + budget.elements > kMaxGgufMetadataElements)
    core::throw_user_error("{}: metadata '{}' declares {} array elements, over Sieve's limit of {} ({} in all arrays)",
                           in.source(), key, count, kMaxGgufArrayElements, kMaxGgufMetadataElements);
  budget.elements += count;
  value.values.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) value.values.push_back(read_scalar(in, value.element_type, key));
  return value;
}

GgufTensorInfo read_tensor_info(Cursor& in) {
  GgufTensorInfo info;
  info.name = in.read_string("a tensor name");
  const auto n_dims = in.read<std::uint32_t>("a tensor's dimension count");
  if (n_dims < 1 || n_dims > kMaxGgufDims)
    core::throw_user_error("{}: tensor '{}' has {} dimensions; GGUF tensors have 1 to {}", in.source(), info.name,
                           n_dims, kMaxGgufDims);
  for (std::uint32_t d = 0; d < n_dims; ++d) {
    const auto extent = in.read<std::uint64_t>("a tensor dimension");
    if (extent < 1 || extent > (std::uint64_t{1} << 62))
      core::throw_user_error("{}: tensor '{}' has dimension {} of {}; expected 1 to 2^62", in.source(), info.name, d,
                             extent);
    info.dims.push_back(static_cast<std::int64_t>(extent));
  }
  const auto raw_type = in.read<std::uint32_t>("a tensor type");
  const auto traits = ggml_type_traits(raw_type);
  if (!traits)
    core::throw_user_error("{}: tensor '{}' has unknown or unsupported ggml type {}", in.source(), info.name, raw_type);
  info.type = static_cast<GgmlType>(raw_type);
  info.offset = in.read<std::uint64_t>("a tensor offset");
  const auto numel = core::checked_numel(info.dims);
  if (!numel) core::throw_user_error("{}: tensor '{}' has too many elements to count", in.source(), info.name);
  info.numel = *numel;
  if (info.dims[0] % traits->block_elements != 0)
    core::throw_user_error("{}: tensor '{}' ({}) has rows of {} elements, not a whole number of {}-element blocks",
                           in.source(), info.name, traits->name, info.dims[0], traits->block_elements);
  const auto bytes = core::checked_mul(*numel / traits->block_elements, traits->block_bytes);
  if (!bytes) core::throw_user_error("{}: tensor '{}' is too large to count", in.source(), info.name);
  info.bytes = static_cast<std::uint64_t>(*bytes);
  return info;
}

std::uint64_t read_alignment(const GgufHeader& header, std::string_view source) {
  const GgufValue* value = header.find(kAlignmentKey);
  if (value == nullptr) return kGgufDefaultAlignment;
  const auto alignment = value->integer();
  if (value->type != GgufValueType::u32 || !alignment || *alignment == 0 || (*alignment & (*alignment - 1)) != 0)
    core::throw_user_error("{}: {} must be a u32 power of two", source, kAlignmentKey);
  return static_cast<std::uint64_t>(*alignment);
}

// Offsets aligned, in the data section, and no two tensors sharing a byte.
void check_tensor_placement(const GgufHeader& header, std::uint64_t data_size, std::string_view source) {
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& tensor : header.tensors) {
    if (tensor.offset % header.alignment != 0)
      core::throw_user_error("{}: tensor '{}' starts at data offset {}, not a multiple of the alignment {}", source,
                             tensor.name, tensor.offset, header.alignment);
    if (tensor.offset > data_size || tensor.bytes > data_size - tensor.offset)
      core::throw_user_error(
          "{}: truncated or inconsistent GGUF file: tensor '{}' ({} bytes at data offset {}) ends past the {} bytes of "
          "the data section",
          source, tensor.name, tensor.bytes, tensor.offset, data_size);
    by_offset.push_back(&tensor);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& before = *by_offset[i - 1];
    if (before.offset + before.bytes > by_offset[i]->offset)
      core::throw_user_error("{}: tensors '{}' and '{}' overlap in the data section", source, before.name,
                             by_offset[i]->name);
  }
}

}  // namespace

const GgufValue* GgufHeader::find(std::string_view key) const {
  const auto it = key_index.find(key);
  return it == key_index.end() ? nullptr : &metadata[it->second].second;
}

const GgufTensorInfo* GgufHeader::tensor(std::string_view name) const {
  const auto it = tensor_index.find(name);
  return it == tensor_index.end() ? nullptr : &tensors[it->second];
}

GgufHeader parse_gguf(std::span<const std::byte> file, std::string_view source) {
  Cursor in(file, source);
  GgufHeader header;
  if (in.left() < 4 || in.read<std::uint32_t>("the magic") != kGgufMagic)
    core::throw_user_error("{}: not a GGUF file (it does not start with \"GGUF\")", source);
  header.version = in.read<std::uint32_t>("the version");
  if (header.version != 2 && header.version != 3)
    core::throw_user_error("{}: GGUF version {} is not supported (Sieve reads versions 2 and 3)", source,
                           header.version);
  const auto tensor_count = in.read<std::uint64_t>("the tensor count");
  const auto kv_count = in.read<std::uint64_t>("the metadata count");
  if (kv_count > in.left() / kMinKvBytes)
    core::throw_user_error("{}: truncated GGUF file: {} metadata entries declared, more than the {} bytes left hold",
                           source, kv_count, in.left());
  MetadataBudget budget;
  header.metadata.reserve(kv_count);
  for (std::uint64_t i = 0; i < kv_count; ++i) {
    std::string key = in.read_string("a metadata key");
    if (header.key_index.contains(key)) core::throw_user_error("{}: metadata key '{}' appears twice", source, key);
    GgufValue value = read_value(in, key, budget);
    header.key_index.emplace(key, header.metadata.size());
    header.metadata.emplace_back(std::move(key), std::move(value));
  }
  header.alignment = read_alignment(header, source);
  if (tensor_count > in.left() / kMinTensorInfoBytes)
    core::throw_user_error("{}: truncated GGUF file: {} tensors declared, more than the {} bytes left hold", source,
                           tensor_count, in.left());
  header.tensors.reserve(tensor_count);
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo info = read_tensor_info(in);
    if (header.tensor_index.contains(info.name))
      core::throw_user_error("{}: tensor '{}' appears twice", source, info.name);
    header.tensor_index.emplace(info.name, header.tensors.size());
    header.tensors.push_back(std::move(info));
  }
  // The data section starts at the next multiple of the alignment (a file without tensors may
  // end before it).
  const std::uint64_t end = in.position();
  const std::uint64_t padded = end + (header.alignment - end % header.alignment) % header.alignment;
  if (padded > file.size()) {
    if (!header.tensors.empty())
      core::throw_user_error("{}: truncated GGUF file: the data section would start at {}, past its end ({} bytes)",
                             source, padded, file.size());
    header.data_start = file.size();
    return header;
  }
  header.data_start = padded;
  check_tensor_placement(header, file.size() - padded, source);
  return header;
}

GgufFile::GgufFile(std::filesystem::path path) : path_(std::move(path)) {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) core::throw_user_error("cannot open GGUF file {}: {}", path_.string(), std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    core::throw_user_error("{} is not a regular file", path_.string());
  }
  size_ = static_cast<std::size_t>(info.st_size);
  if (size_ > 0) {
    void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (mapped == MAP_FAILED) core::throw_user_error("cannot map {}: {}", path_.string(), std::strerror(errno));
    data_ = static_cast<const std::byte*>(mapped);
  } else {
    ::close(fd);
  }
  try {
    header_ = parse_gguf(std::span(data_, size_), path_.string());
  } catch (...) {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    throw;
  }
}

GgufFile::~GgufFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

std::span<const std::byte> GgufFile::tensor_bytes(const GgufTensorInfo& tensor) const {
  return std::span(data_ + header_.data_start + tensor.offset, tensor.bytes);
}

}  // namespace sieve::convert_gguf
