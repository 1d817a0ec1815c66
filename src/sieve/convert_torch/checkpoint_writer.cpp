#include "sieve/convert_torch/checkpoint_writer.h"

#include "sieve/convert_torch/state_dict_pickler.h"
#include "sieve/convert_torch/zip_archive.h"
#include "sieve/core/error.h"

namespace sieve::convert_torch {

void save_torch_checkpoint(const std::filesystem::path& path,
                           const std::vector<std::pair<std::string, core::Tensor>>& tensors) {
  const std::string prefix = "archive/";
  std::vector<StateDictEntry> entries;
  std::vector<core::Tensor> data;  // contiguous, alive until the archive is written
  for (const auto& [name, tensor] : tensors) {
    SIEVE_CHECK(tensor.dtype() == core::DType::f32, "tensor '{}' is {}, expected f32", name,
                core::dtype_name(tensor.dtype()));
    entries.push_back({.name = name, .storage_key = std::to_string(entries.size()), .dtype = TorchDType::f32,
                       .shape = tensor.shape()});
    data.push_back(tensor.contiguous());
  }
  ZipWriter zip(path);
  zip.add_copy(prefix + "data.pkl", pickle_state_dict(entries));
  zip.add_copy(prefix + "byteorder", "little");
  for (std::size_t i = 0; i < data.size(); ++i)
    zip.add_borrowed(prefix + "data/" + entries[i].storage_key,
                     std::as_bytes(std::span(data[i].data<float>(), static_cast<std::size_t>(data[i].numel()))));
  zip.add_copy(prefix + "version", kCheckpointFormatVersion);
  zip.finish();
}

}  // namespace sieve::convert_torch
