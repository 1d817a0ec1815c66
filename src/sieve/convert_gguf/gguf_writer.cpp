#include "sieve/convert_gguf/gguf_writer.h"

#include <cstring>
#include <set>
#include <variant>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"

namespace sieve::convert_gguf {
namespace {

// Serialises the header into a byte string, little-endian (the machines Sieve runs on are).
class Encoder {
 public:
  template <typename T>
  void put(T value) {
    const auto* p = reinterpret_cast<const char*>(&value);
    bytes_.append(p, sizeof(T));
  }
  void put_string(const std::string& text) {
    put<std::uint64_t>(text.size());
    bytes_.append(text);
  }
  void put_scalar(GgufValueType type, const GgufScalar& scalar) {
    const auto as_u = [&] { return std::get<std::uint64_t>(scalar); };
    const auto as_i = [&] { return std::get<std::int64_t>(scalar); };
    switch (type) {
      case GgufValueType::u8: case GgufValueType::boolean: put(static_cast<std::uint8_t>(as_u())); return;
      case GgufValueType::i8: put(static_cast<std::int8_t>(as_i())); return;
      case GgufValueType::u16: put(static_cast<std::uint16_t>(as_u())); return;
      case GgufValueType::i16: put(static_cast<std::int16_t>(as_i())); return;
      case GgufValueType::u32: put(static_cast<std::uint32_t>(as_u())); return;
      case GgufValueType::i32: put(static_cast<std::int32_t>(as_i())); return;
      case GgufValueType::f32: put(static_cast<float>(std::get<double>(scalar))); return;
      case GgufValueType::string: put_string(std::get<std::string>(scalar)); return;
      case GgufValueType::u64: put(as_u()); return;
      case GgufValueType::i64: put(as_i()); return;
      case GgufValueType::f64: put(std::get<double>(scalar)); return;
      case GgufValueType::array: break;
    }
    SIEVE_CHECK(false, "a GGUF scalar cannot be an array");
  }
  void put_value(const GgufValue& value) {
    put(static_cast<std::uint32_t>(value.type));
    if (!value.is_array()) {
      SIEVE_CHECK(value.values.size() == 1, "a scalar GGUF value holds one value");
      put_scalar(value.type, value.values[0]);
      return;
    }
    put(static_cast<std::uint32_t>(value.element_type));
    put<std::uint64_t>(value.values.size());
    for (const GgufScalar& element : value.values) put_scalar(value.element_type, element);
  }
  void pad_to(std::uint64_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back('\0');
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

std::uint64_t padded(std::uint64_t size, std::uint64_t alignment) {
  return size + (alignment - size % alignment) % alignment;
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [existing, stored] : metadata_)
    if (existing == key) {
      stored = std::move(value);
      return;
    }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(std::string name, std::vector<std::int64_t> dims, GgmlType type,
                            std::vector<std::byte> data) {
  const GgmlTypeTraits traits = ggml_type_traits(type);
  std::int64_t numel = 1;
  for (const std::int64_t d : dims) numel *= d;
  SIEVE_CHECK(!dims.empty() && dims.size() <= 4 && dims[0] % traits.block_elements == 0,
              "tensor {}: dims do not fit {}", name, traits.name);
  SIEVE_CHECK(static_cast<std::int64_t>(data.size()) == numel / traits.block_elements * traits.block_bytes,
              "tensor {}: {} bytes for {} {} elements", name, data.size(), numel, traits.name);
  for (const Tensor& tensor : tensors_) SIEVE_CHECK(tensor.name != name, "tensor {} added twice", name);
  tensors_.push_back({std::move(name), std::move(dims), type, std::move(data)});
}

std::uint64_t GgufWriter::alignment() const {
  for (const auto& [key, value] : metadata_)
    if (key == kAlignmentKey) return static_cast<std::uint64_t>(value.integer().value_or(kGgufDefaultAlignment));
  return kGgufDefaultAlignment;
}

void GgufWriter::write(const std::filesystem::path& path) const {
  const std::uint64_t align = alignment();
  Encoder header;
  header.put(kGgufMagic);
  header.put(kGgufVersion);
  header.put<std::uint64_t>(tensors_.size());
  header.put<std::uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    header.put_string(key);
    header.put_value(value);
  }
  std::uint64_t offset = 0;
  for (const Tensor& tensor : tensors_) {
    header.put_string(tensor.name);
    header.put<std::uint32_t>(static_cast<std::uint32_t>(tensor.dims.size()));
    for (const std::int64_t d : tensor.dims) header.put<std::uint64_t>(static_cast<std::uint64_t>(d));
    header.put(static_cast<std::uint32_t>(tensor.type));
    header.put<std::uint64_t>(offset);
    offset = padded(offset + tensor.data.size(), align);
  }
  header.pad_to(align);

  core::AtomicFileWriter out(path);
  out.write(header.bytes());
  const std::string zeros(align, '\0');
  for (const Tensor& tensor : tensors_) {
    out.write(std::span<const std::byte>(tensor.data));
    const std::uint64_t gap = padded(tensor.data.size(), align) - tensor.data.size();
    if (gap > 0) out.write(std::string_view(zeros.data(), gap));
  }
  out.commit();
}

}  // namespace sieve::convert_gguf
