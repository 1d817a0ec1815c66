#include "sieve/convert_torch/checkpoint_reader.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>

#include "sieve/core/error.h"
#include "sieve/io/model_limits.h"

namespace sieve::convert_torch {
namespace {

// What torch.save wrote before 1.6: a pickle stream that starts with this magic number
// (0x1950a86a20f9469cfc6c as a protocol-2 LONG1).
constexpr std::array<unsigned char, 14> kLegacyMagic{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                                     0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

bool starts_with_legacy_magic(std::span<const std::byte> head) {
  return head.size() >= kLegacyMagic.size() &&
         std::equal(kLegacyMagic.begin(), kLegacyMagic.end(), head.begin(),
                    [](unsigned char a, std::byte b) { return a == std::to_integer<unsigned char>(b); });
}

[[noreturn]] void refuse_legacy(const std::string& source) {
  core::throw_user_error(
      "{}: a checkpoint in PyTorch's legacy format (torch.save before 1.6, or _use_new_zipfile_serialization=False), "
      "which Sieve does not read; re-save it as a zip checkpoint: torch.save(torch.load(path, weights_only=True), "
      "new_path)",
      source);
}

// The folder that holds data.pkl: the archive's only top-level folder with one.
std::string find_prefix(const ZipReader& zip) {
  std::string prefix;
  for (const std::string& name : zip.names()) {
    const auto slash = name.find('/');
    if (slash == std::string::npos || name.substr(slash + 1) != "data.pkl") continue;
    SIEVE_USER_CHECK(prefix.empty(), "{}: holds two state dicts ({}data.pkl and {})", zip.source_name(), prefix, name);
    prefix = name.substr(0, slash + 1);
  }
  if (!prefix.empty()) return prefix;
  const bool torchscript = std::any_of(zip.names().begin(), zip.names().end(), [](const std::string& name) {
    return name.ends_with("/constants.pkl") || name.find("/code/") != std::string::npos;
  });
  SIEVE_USER_CHECK(!torchscript, "{}: a TorchScript archive (torch.jit.save), not a state dict (torch.save)",
                   zip.source_name());
  core::throw_user_error("{}: a zip archive without <folder>/data.pkl: not a PyTorch checkpoint", zip.source_name());
}

// The small text records beside the pickle: byteorder must be little, version a number.
void check_format_records(const ZipReader& zip, const std::string& prefix) {
  if (zip.size_of(prefix + "byteorder")) {
    const std::string order = zip.read_text(prefix + "byteorder", 16, "byte order");
    SIEVE_USER_CHECK(order == "little", "{}: stored in byte order '{}' (only little-endian is supported)",
                     zip.source_name(), order);
  }
  if (zip.size_of(prefix + "version")) {
    std::string version = zip.read_text(prefix + "version", 16, "format version");
    while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
    SIEVE_USER_CHECK(!version.empty() && std::all_of(version.begin(), version.end(), [](unsigned char c) { return std::isdigit(c) != 0; }),
                     "{}: the format version '{}' is not a number", zip.source_name(), version);
  }
}

}  // namespace

TorchCheckpoint::TorchCheckpoint(ZipReader zip) : zip_(std::move(zip)) {
  prefix_ = find_prefix(zip_);
  check_format_records(zip_, prefix_);
  const std::string pickle = zip_.read_text(prefix_ + "data.pkl", kMaxStateDictPickleBytes, "the state dict");
  state_dict_ = unpickle_state_dict(std::as_bytes(std::span(pickle.data(), pickle.size())),
                                    source_name() + ":" + prefix_ + "data.pkl");
  for (const PickledStorage& storage : state_dict_.storages) {
    const std::string record = prefix_ + "data/" + storage.key;
    const auto size = zip_.size_of(record);
    SIEVE_USER_CHECK(size.has_value(), "{}: no record '{}' (storage '{}' of the state dict)", source_name(), record,
                     storage.key);
    const auto expected = static_cast<std::uint64_t>(storage.numel) * storage.type.element_size;
    // Read whole when a tensor of it is loaded: held to the model memory limit first.
    io::check_bytes_fit(static_cast<std::int64_t>(expected), source_name() + ":" + record,
                        fmt::format("{} {} values", storage.numel, storage.type.dtype_name));
    SIEVE_USER_CHECK(*size == expected, "{}: record '{}' holds {} bytes, but the state dict declares {} {} values ({} bytes)",
                     source_name(), record, *size, storage.numel, storage.type.dtype_name, expected);
  }
}

TorchCheckpoint TorchCheckpoint::open_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  SIEVE_USER_CHECK(in.good(), "cannot open '{}'", path.string());
  std::array<char, kLegacyMagic.size()> head{};
  in.read(head.data(), head.size());
  if (starts_with_legacy_magic(std::as_bytes(std::span(head.data(), static_cast<std::size_t>(in.gcount())))))
    refuse_legacy(path.string());
  return TorchCheckpoint(ZipReader::open_file(path));
}

TorchCheckpoint TorchCheckpoint::open_bytes(std::span<const std::byte> bytes, std::string source_name) {
  if (starts_with_legacy_magic(bytes)) refuse_legacy(source_name);
  return TorchCheckpoint(ZipReader::open_bytes(bytes, std::move(source_name)));
}

core::Tensor TorchCheckpoint::load_f32(const PickledTensor& tensor) const {
  const PickledStorage& storage = storage_of(tensor);
  SIEVE_USER_CHECK(is_floating(storage.type.dtype),
                   "{}: tensor '{}' holds {} values; Sieve reads float32, float16, bfloat16 or float64 weights",
                   source_name(), tensor.name, storage.type.dtype_name);
  if (cached_key_ != storage.key || cached_storage_.empty()) {
    cached_storage_.clear();
    cached_key_.clear();
    cached_storage_.resize(static_cast<std::size_t>(storage.numel) * storage.type.element_size);
    zip_.read_into(prefix_ + "data/" + storage.key, cached_storage_);
    cached_key_ = storage.key;
  }
  core::Tensor out = core::Tensor::empty(tensor.shape, core::DType::f32);
  strided_to_f32(cached_storage_, storage.type.dtype, tensor.offset, tensor.shape, tensor.strides, out.data<float>());
  return out;
}

}  // namespace sieve::convert_torch
