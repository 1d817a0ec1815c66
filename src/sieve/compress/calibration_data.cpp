#include "sieve/compress/calibration_data.h"

#include <algorithm>

#include "sieve/core/error.h"
#include "sieve/data/corpus.h"
#include "sieve/data/corpus_registry.h"

namespace sieve::compress {

std::vector<core::Tensor> read_calibration_batches(const std::string& corpus, const data::Tokenizer& tokenizer,
                                                   const CalibrationDataOptions& options) {
  SIEVE_USER_CHECK(options.windows > 0 && options.context > 0 && options.batch > 0,
                   "calibration windows, context and batch must be > 0 (got {}, {}, {})", options.windows,
                   options.context, options.batch);
  data::validate_split_options(options.split);
  const std::int64_t wanted = options.windows * options.context;
  std::vector<std::int64_t> tokens;
  std::uint64_t index = 0;
  data::for_each_document(data::resolve_corpus(corpus), [&](std::string_view document) {
    if (data::assign_split(index++, options.split) == data::Split::train) {
      for (const std::int32_t id : tokenizer.encode(document)) tokens.push_back(id);
      tokens.push_back(tokenizer.eos_id());
    }
    return static_cast<std::int64_t>(tokens.size()) < wanted;
  });
  const std::int64_t rows = std::min<std::int64_t>(options.windows, static_cast<std::int64_t>(tokens.size()) / options.context);
  SIEVE_USER_CHECK(rows > 0, "calibration corpus '{}' has {} tokens in its training documents, fewer than one window of {}",
                   corpus, tokens.size(), options.context);
  std::vector<core::Tensor> batches;
  for (std::int64_t row = 0; row < rows; row += options.batch) {
    const std::int64_t n = std::min(options.batch, rows - row);
    core::Tensor ids = core::Tensor::empty({n, options.context}, core::DType::i64);
    std::copy_n(tokens.begin() + row * options.context, n * options.context, ids.data<std::int64_t>());
    batches.push_back(std::move(ids));
  }
  return batches;
}

}  // namespace sieve::compress
