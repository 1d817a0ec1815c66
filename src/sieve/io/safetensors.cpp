#include "sieve/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <system_error>

#include "sieve/core/atomic_file.h"
#include "sieve/core/checked_math.h"
#include "sieve/core/error.h"
#include "sieve/io/brief_text.h"

namespace sieve::io {

// The format is little-endian; reading and writing below copy bytes as they are.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using nlohmann::json;

// Deepest nesting a valid header has: root object (0) → entry or __metadata__ object (1) →
// shape / data_offsets array (2). Rejecting deeper input while parsing bounds the memory a
// hostile header can make the JSON tree use.
constexpr int kMaxHeaderDepth = 2;
// More dimensions than any tensor Sieve handles; bounds per-entry work on hostile shapes.
constexpr std::size_t kMaxRank = 64;

constexpr std::string_view kMetadataKey = "__metadata__";

std::string known_dtypes() {
  std::string names;
  for (auto d : {core::DType::f32, core::DType::bf16, core::DType::f16, core::DType::i8, core::DType::u8,
                 core::DType::i32, core::DType::i64}) {
    if (!names.empty()) names += ", ";
    names += core::dtype_safetensors_name(d);
  }
  return names;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest (with the
// line and column) is what a user needs.
std::string json_error_text(const json::exception& e) {
  std::string_view text = e.what();
  if (const auto close = text.find("] "); text.starts_with("[json.exception.") && close != std::string_view::npos)
    text.remove_prefix(close + 2);
  return std::string(text);
}


json parse_header_json(const char* begin, const char* end, const std::string& source) {
  // One set of keys per open object: duplicate keys are rejected (nlohmann would keep the last
  // one, another reader might keep the first — the same file would mean two things).
  std::vector<std::set<std::string>> open_objects;
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth > kMaxHeaderDepth)
          core::throw_user_error("{}: bad header JSON: nested deeper than a safetensors header can be", source);
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second)
          core::throw_user_error("{}: bad header JSON: duplicate key '{}'", source,
                                 brief_text(parsed.get<std::string>()));
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(begin, end, check);
  } catch (const json::exception& e) {
    core::throw_user_error("{}: bad header JSON: {}", source, json_error_text(e));
  }
}

// A JSON integer in [0, 2^63), or nullopt.
std::optional<std::uint64_t> non_negative_integer(const json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return v;
    return std::nullopt;
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v >= 0) return static_cast<std::uint64_t>(v);
  }
  return std::nullopt;
}

template <typename... Args>
[[noreturn]] void entry_error(const std::string& source, const std::string& name,
                              fmt::format_string<Args...> format, Args&&... args) {
  core::throw_user_error("{}: tensor '{}': {}", source, brief_text(name),
                         fmt::format(format, std::forward<Args>(args)...));
}

SafetensorsEntry parse_entry(const std::string& name, const json& value, std::uint64_t data_size,
                             const std::string& source) {
  if (!value.is_object())
    entry_error(source, name, "expected an object with dtype, shape and data_offsets, got {}", value.type_name());
  for (const auto& [key, unused] : value.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      entry_error(source, name, "unknown key '{}' (expected only dtype, shape, data_offsets)", brief_text(key));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!value.contains(key)) entry_error(source, name, "missing '{}'", key);

  SafetensorsEntry entry;
  entry.name = name;

  const json& dtype = value["dtype"];
  if (!dtype.is_string()) entry_error(source, name, "dtype must be a string, got {}", dtype.type_name());
  const auto& dtype_text = dtype.get_ref<const std::string&>();
  const auto parsed_dtype = core::dtype_from_name(dtype_text);
  // dtype_from_name also accepts Sieve's lower-case names; the format spells them upper-case.
  if (!parsed_dtype || core::dtype_safetensors_name(*parsed_dtype) != dtype_text)
    entry_error(source, name, "unsupported dtype '{}' (Sieve reads {})", brief_text(dtype_text), known_dtypes());
  entry.dtype = *parsed_dtype;

  const json& shape = value["shape"];
  if (!shape.is_array())
    entry_error(source, name, "shape must be an array of non-negative integers, got {}", shape.type_name());
  if (shape.size() > kMaxRank)
    entry_error(source, name, "shape has {} dimensions; at most {} are supported", shape.size(), kMaxRank);
  for (const json& extent : shape) {
    const auto size = non_negative_integer(extent);
    if (!size) entry_error(source, name, "shape must hold non-negative integers, found {}", brief(extent));
    entry.shape.push_back(static_cast<std::int64_t>(*size));
  }
  // Checked here so a Tensor over these bytes never meets a size (or a stride of an empty
  // tensor) that overflows.
  const auto checked_size = core::checked_nbytes(entry.shape, core::dtype_size(entry.dtype));
  if (!checked_size)
    entry_error(source, name, "shape {} of {} is too large to address (its size overflows 64 bits)",
                core::shape_string(entry.shape), dtype_text);
  const auto nbytes = static_cast<std::uint64_t>(*checked_size);

  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    entry_error(source, name, "data_offsets must be [begin, end], got {}", brief(offsets));
  const auto begin = non_negative_integer(offsets[0]);
  const auto end = non_negative_integer(offsets[1]);
  if (!begin || !end)
    entry_error(source, name, "data_offsets must be two non-negative integers, got {}", brief(offsets));
  if (*begin > *end) entry_error(source, name, "data_offsets [{}, {}] end before they begin", *begin, *end);
  if (*end > data_size)
    entry_error(source, name, "data_offsets [{}, {}] run past the end of the data ({} bytes; truncated file?)",
                *begin, *end, data_size);
  if (*end - *begin != nbytes)
    entry_error(source, name, "data_offsets [{}, {}] hold {} bytes, but shape {} of {} needs {}", *begin, *end,
                *end - *begin, core::shape_string(entry.shape), dtype_text, nbytes);
  entry.begin = *begin;
  entry.end = *end;
  return entry;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& source) {
  if (!value.is_object())
    core::throw_user_error("{}: __metadata__ must be an object of string values, got {}", source,
                           value.type_name());
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string())
      core::throw_user_error("{}: __metadata__ '{}' must be a string, got {}", source, brief_text(key),
                             item.type_name());
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// The tensors must tile the data region exactly.
void check_coverage(const std::vector<SafetensorsEntry>& entries, std::uint64_t data_size,
                    const std::string& source) {
  std::vector<const SafetensorsEntry*> by_offset;
  by_offset.reserve(entries.size());
  for (const auto& e : entries) by_offset.push_back(&e);
  // Empty tensors ([x, x]) sort before a tensor starting at x, so they never look like overlaps.
  std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
  });
  std::uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry* e : by_offset) {
    if (e->begin < covered)
      core::throw_user_error("{}: tensor '{}' (bytes [{}, {})) overlaps tensor '{}' (bytes [{}, {}))", source,
                             brief_text(e->name), e->begin, e->end, brief_text(previous->name), previous->begin,
                             previous->end);
    if (e->begin > covered)
      core::throw_user_error(
          "{}: bytes [{}, {}) of the data region belong to no tensor (the format allows no holes)", source,
          covered, e->begin);
    covered = e->end;
    previous = e;
  }
  if (covered != data_size)
    core::throw_user_error(
        "{}: bytes [{}, {}) of the data region belong to no tensor (the format allows no holes)", source, covered,
        data_size);
}

std::string errno_message(int error) { return std::error_code(error, std::generic_category()).message(); }

}  // namespace

const SafetensorsEntry* SafetensorsHeader::find(std::string_view name) const {
  // Entries are in name order (parse and save both sort), but a hand-built header may not be.
  const auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.name == name; });
  return it == entries.end() ? nullptr : &*it;
}

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes, std::string_view source_name) {
  const std::string source(source_name);
  if (file_bytes.size() < 8)
    core::throw_user_error("{}: not a safetensors file: {} bytes is shorter than the 8-byte header length", source,
                           file_bytes.size());
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, file_bytes.data(), 8);
  const std::uint64_t available = file_bytes.size() - 8;
  if (header_size > kMaxSafetensorsHeaderBytes)
    core::throw_user_error("{}: header length {} exceeds the {}-byte limit (not a safetensors file?)", source,
                           header_size, kMaxSafetensorsHeaderBytes);
  if (header_size > available)
    core::throw_user_error("{}: header length {} is larger than the {} bytes after it (truncated file?)", source,
                           header_size, available);

  SafetensorsHeader header;
  header.data_start = 8 + header_size;
  const std::uint64_t data_size = file_bytes.size() - header.data_start;
  const char* text = reinterpret_cast<const char*>(file_bytes.data()) + 8;
  const json root = parse_header_json(text, text + header_size, source);
  if (!root.is_object())
    core::throw_user_error("{}: bad header JSON: expected an object, got {}", source, root.type_name());

  for (const auto& [key, value] : root.items()) {
    if (key == kMetadataKey) {
      header.metadata = parse_metadata(value, source);
    } else {
      header.entries.push_back(parse_entry(key, value, data_size, source));
    }
  }
  check_coverage(header.entries, data_size, source);
  return header;
}

// ---------------------------------------------------------------------------------------------
// SafetensorsFile

struct SafetensorsFile::Mapping {
  std::byte* data = nullptr;
  std::size_t size = 0;
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (data != nullptr) ::munmap(data, size);
  }
};

SafetensorsFile::SafetensorsFile(std::filesystem::path path) : path_(std::move(path)) {
  const std::string source = path_.string();
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) core::throw_user_error("cannot open safetensors file {}: {}", source, errno_message(errno));
  auto mapping = std::make_shared<Mapping>();
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    core::throw_user_error("cannot read safetensors file {}: {}", source, errno_message(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    core::throw_user_error("cannot read safetensors file {}: not a regular file", source);
  }
  mapping->size = static_cast<std::size_t>(info.st_size);
  if (mapping->size > 0) {
    // Private and writable: views hand out non-const pointers, and a write must neither fault
    // nor reach the file (see the class comment).
    void* data = ::mmap(nullptr, mapping->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      core::throw_user_error("cannot map safetensors file {}: {}", source, errno_message(error));
    }
    mapping->data = static_cast<std::byte*>(data);
  }
  ::close(fd);  // the mapping keeps the file referenced
  header_ = parse_safetensors_header({mapping->data, mapping->size}, source);
  mapping_ = std::move(mapping);
}

SafetensorsFile::~SafetensorsFile() = default;
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(header_.entries.size());
  for (const auto& e : header_.entries) out.push_back(e.name);
  return out;
}

const SafetensorsEntry& SafetensorsFile::entry(std::string_view name) const {
  const SafetensorsEntry* e = header_.find(name);
  if (e == nullptr) core::throw_user_error("{}: no tensor named '{}'", path_.string(), name);
  return *e;
}

std::span<const std::byte> SafetensorsFile::tensor_bytes(std::string_view name) const {
  const SafetensorsEntry& e = entry(name);
  SIEVE_CHECK(mapping_ != nullptr, "use of a moved-from SafetensorsFile");
  return {mapping_->data + header_.data_start + e.begin, static_cast<std::size_t>(e.end - e.begin)};
}

core::Tensor SafetensorsFile::tensor(std::string_view name) const {
  const SafetensorsEntry& e = entry(name);
  const std::span<const std::byte> bytes = tensor_bytes(name);
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % core::dtype_size(e.dtype) != 0) return load_copy(name);
  // The views write nothing through the pointer unless a caller does, and then only to this
  // process's copy-on-write pages; the capture keeps the mapping alive as long as any view.
  return core::Tensor::borrow(const_cast<std::byte*>(bytes.data()), e.shape, e.dtype, [mapping = mapping_] {});
}

core::Tensor SafetensorsFile::load_copy(std::string_view name) const {
  const SafetensorsEntry& e = entry(name);
  const std::span<const std::byte> bytes = tensor_bytes(name);
  core::Tensor out = core::Tensor::empty(e.shape, e.dtype);
  if (!bytes.empty()) std::memcpy(out.raw_data(), bytes.data(), bytes.size());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, core::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::set<std::string_view> seen;
  std::vector<core::Tensor> contiguous;
  contiguous.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    SIEVE_CHECK(name != kMetadataKey, "save_safetensors: '{}' is reserved for metadata", name);
    SIEVE_CHECK(seen.insert(name).second, "save_safetensors: tensor name '{}' appears twice", name);
    SIEVE_CHECK(tensor.defined(), "save_safetensors: tensor '{}' is undefined", name);
    SIEVE_CHECK(tensor.device().type == core::DeviceType::cpu, "save_safetensors: tensor '{}' is on {}", name,
                core::device_name(tensor.device()));
    contiguous.push_back(tensor.contiguous());
  }

  // Larger elements first: every tensor's size is a multiple of its element size, so each one
  // starts aligned to its own element size (the data region starts 8-aligned).
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const std::size_t size_a = core::dtype_size(contiguous[a].dtype());
    const std::size_t size_b = core::dtype_size(contiguous[b].dtype());
    if (size_a != size_b) return size_a > size_b;
    return tensors[a].first < tensors[b].first;
  });

  json header = json::object();
  std::uint64_t offset = 0;
  for (const std::size_t i : order) {
    const core::Tensor& t = contiguous[i];
    const std::uint64_t end = offset + t.nbytes();
    header[tensors[i].first] = {
        {"dtype", core::dtype_safetensors_name(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    core::throw_user_error("cannot write {}: a tensor name or metadata string is not valid UTF-8 ({})",
                           path.string(), json_error_text(e));
  }
  // Pad with spaces (valid trailing JSON whitespace) so the data region starts 8-aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t header_size = text.size();

  core::AtomicFileWriter file(path);
  file.write(std::as_bytes(std::span(&header_size, 1)));
  file.write(text);
  for (const std::size_t i : order) {
    const core::Tensor& t = contiguous[i];
    if (t.nbytes() > 0) file.write(std::span(static_cast<const std::byte*>(t.raw_data()), t.nbytes()));
  }
  file.commit();
}

std::map<std::string, core::Tensor> load_safetensors(const std::filesystem::path& path) {
  const SafetensorsFile file(path);
  std::map<std::string, core::Tensor> out;
  for (const auto& e : file.header().entries) out.emplace(e.name, file.load_copy(e.name));
  return out;
}

}  // namespace sieve::io
