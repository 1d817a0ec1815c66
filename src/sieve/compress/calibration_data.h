// Sample batches for calibration (and the measurements built on it): token windows from the
// training split of a corpus, so what calibrates the model is not what evaluates it.
#pragma once

#include <string>
#include <vector>

#include "sieve/core/tensor.h"
#include "sieve/data/split.h"
#include "sieve/data/tokenizer.h"

namespace sieve::compress {

struct CalibrationDataOptions {
  std::int64_t windows = 32;  // rows in all
  std::int64_t context = 256;  // T, tokens a row
  std::int64_t batch = 8;      // rows a batch
  data::SplitOptions split;    // the split training used; only its training documents are read
};

// int64 [rows, T] batches of consecutive tokens of the corpus's training documents (each
// document followed by EOS), read only as far as needed. `corpus` is a registered name (gcide,
// foldoc) or a file, as train and eval take it. A corpus too small for one window is a UserError.
std::vector<core::Tensor> read_calibration_batches(const std::string& corpus, const data::Tokenizer& tokenizer,
                                                   const CalibrationDataOptions& options);

}  // namespace sieve::compress
