// libFuzzer target: a PyTorch checkpoint (torch.save zip archive) opened from memory with
// convert_torch::TorchCheckpoint and every tensor loaded as f32, under a 64 MiB model limit.
// A core::UserError is the expected answer to a bad file; any other exception, a sanitizer
// report, or a loaded tensor of another shape than its entry is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_inputs.h"
#include "sieve/convert_torch/checkpoint_reader.h"
#include "sieve/core/error.h"
#include "sieve/io/model_limits.h"

namespace fz = sieve::fuzz;
namespace ct = sieve::convert_torch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sieve::io::set_max_model_bytes(std::uint64_t{64} << 20);
  try {
    const ct::TorchCheckpoint checkpoint = ct::TorchCheckpoint::open_bytes(std::as_bytes(std::span(data, size)), "fuzz input");
    for (const ct::PickledTensor& tensor : checkpoint.tensors())
      if (checkpoint.load_f32(tensor).shape() != tensor.shape) fz::broken("a loaded tensor has another shape");
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
