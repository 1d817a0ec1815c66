// Writing a PyTorch checkpoint in the zip format torch.save uses (see checkpoint_reader.h), which
// torch.load(path, weights_only=True) reads: archive/data.pkl (state_dict_pickler.h),
// archive/byteorder, archive/data/<i> (one storage per tensor, stored uncompressed and aligned to
// 64 bytes) and archive/version.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "sieve/core/tensor.h"

namespace sieve::convert_torch {

// The format version torch.save writes (PyTorch 1.13 to 2.x).
inline constexpr const char* kCheckpointFormatVersion = "3\n";

// Writes `tensors` (f32, any layout) as a state dict of float32 tensors in their order. The file
// appears at `path` only once complete.
void save_torch_checkpoint(const std::filesystem::path& path,
                           const std::vector<std::pair<std::string, core::Tensor>>& tensors);

}  // namespace sieve::convert_torch
