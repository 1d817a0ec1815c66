// libFuzzer target: an IDX file (data::read_idx_file), gzip-compressed when it starts with the
// gzip magic bytes 1f 8b, plain otherwise — the reader Fashion-MNIST's files go through.
//
// A core::UserError is the expected answer to a bad file; anything else (another exception, a
// sanitizer report, an accepted array whose element count differs from its dimensions' product)
// is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_inputs.h"
#include "sieve/core/error.h"
#include "sieve/data/idx_file.h"

namespace fz = sieve::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path file = fz::scratch_dir() / "fuzz.idx";
  fz::put_file(file, input);
  try {
    // The decompressed size is capped as dictd's is, so a small input cannot inflate to gigabytes.
    const sieve::data::IdxArray array = sieve::data::read_idx_file(file, 0, fz::kDictdFuzzMaxTextBytes);
    std::uint64_t count = 1;
    for (const std::uint32_t d : array.dims) count *= d;
    if (array.dims.empty() || array.dims.size() > 4) fz::broken("an accepted array with 0 or more than 4 dimensions");
    if (count != array.data.size()) fz::broken("an accepted array whose size differs from its dimensions");
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
