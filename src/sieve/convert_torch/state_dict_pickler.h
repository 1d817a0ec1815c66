// Writes the data.pkl of a state dict in the form torch.save gives it (pickle protocol 2), using
// only what PyTorch's own restricted loader (torch.load(weights_only=True)) accepts:
// collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch.<Type>Storage persistent ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sieve/convert_torch/storage_types.h"

namespace sieve::convert_torch {

// One contiguous tensor that fills its own storage (record data/<storage_key>).
struct StateDictEntry {
  std::string name;
  std::string storage_key;
  TorchDType dtype = TorchDType::f32;
  std::vector<std::int64_t> shape;
};

// The pickle of OrderedDict(name → tensor) for `entries`, in their order.
std::string pickle_state_dict(const std::vector<StateDictEntry>& entries);

}  // namespace sieve::convert_torch
