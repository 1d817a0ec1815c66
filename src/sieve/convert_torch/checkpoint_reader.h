// Reading a PyTorch checkpoint: the zip archive torch.save writes since PyTorch 1.6 —
//   <prefix>/data.pkl      the pickled state dict (storages referenced by key)
//   <prefix>/data/<key>    each storage's raw little-endian bytes
//   <prefix>/version       the format version; newer writers add <prefix>/byteorder
// The pickle goes through the restricted unpickler (NOTE [Restricted unpickler]); every
// storage record must hold exactly the bytes its reference declares, and every tensor's view
// must lie inside its storage, before any tensor data is read. The legacy format of older
// PyTorch (a bare pickle stream) is recognised and refused with a message saying how to convert.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "sieve/convert_torch/state_dict_unpickler.h"
#include "sieve/convert_torch/zip_archive.h"
#include "sieve/core/tensor.h"

namespace sieve::convert_torch {

// The largest data.pkl read (a state dict's pickle is kilobytes per tensor).
inline constexpr std::uint64_t kMaxStateDictPickleBytes = std::uint64_t{64} << 20;

class TorchCheckpoint {
 public:
  // Opens and validates the archive (not the tensor data). Bad input → core::UserError.
  static TorchCheckpoint open_file(const std::filesystem::path& path);
  // As open_file, over bytes that must outlive the checkpoint.
  static TorchCheckpoint open_bytes(std::span<const std::byte> bytes, std::string source_name);

  const std::string& source_name() const { return zip_.source_name(); }
  const std::vector<PickledTensor>& tensors() const { return state_dict_.tensors; }
  const PickledStorage& storage_of(const PickledTensor& tensor) const { return state_dict_.storages[tensor.storage]; }

  // The tensor as a new contiguous f32 tensor (f32, f16, bf16 and f64 storages; others are a
  // UserError naming the tensor and its dtype). Reads its storage record, keeping the last one
  // read so tensors that share a storage read it once.
  core::Tensor load_f32(const PickledTensor& tensor) const;

 private:
  TorchCheckpoint(ZipReader zip);

  ZipReader zip_;
  std::string prefix_;  // "archive/": the folder every record is in
  PickledStateDict state_dict_;
  mutable std::string cached_key_;
  mutable std::vector<std::byte> cached_storage_;
};

}  // namespace sieve::convert_torch
