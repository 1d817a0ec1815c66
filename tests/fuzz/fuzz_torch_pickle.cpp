// libFuzzer target: the restricted unpickler (convert_torch::unpickle_state_dict) on arbitrary
// bytes, as a checkpoint's data.pkl. A core::UserError is the expected answer to a bad pickle;
// any other exception, a sanitizer report, or an accepted state dict whose tensor views leave
// their storages is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_inputs.h"
#include "sieve/convert_torch/state_dict_unpickler.h"
#include "sieve/core/error.h"

namespace fz = sieve::fuzz;
namespace ct = sieve::convert_torch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const ct::PickledStateDict dict = ct::unpickle_state_dict(std::as_bytes(std::span(data, size)), "fuzz input");
    for (const ct::PickledTensor& tensor : dict.tensors) {
      if (tensor.storage >= dict.storages.size()) fz::broken("a tensor names a storage that does not exist");
      if (tensor.shape.size() != tensor.strides.size()) fz::broken("size and stride differ in rank");
      bool empty = false;
      std::int64_t last = tensor.offset;
      for (std::size_t d = 0; d < tensor.shape.size(); ++d) {
        empty = empty || tensor.shape[d] == 0;
        if (tensor.shape[d] > 0) last += (tensor.shape[d] - 1) * tensor.strides[d];
      }
      if (!empty && last >= dict.storages[tensor.storage].numel) fz::broken("a view leaves its storage");
    }
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
