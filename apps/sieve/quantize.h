// `sieve quantize` as a function: the CLI verb (verb_quantize.cpp) and the Python module's
// sieve.quantize both fill a QuantizeRequest and call run_quantize.
#pragma once

#include <cstdint>
#include <string>

#include "sieve/compress/quantization_plan.h"

namespace sieve::apps {

// The verb's flags; the defaults are the CLI's.
struct QuantizeRequest {
  std::string model_dir;
  std::string out_dir;
  std::string scheme;
  std::string plan_file;  // --plan: a quantization section as JSON (scheme mixed)
  std::int64_t group_size = compress::kDefaultInt4GroupSize;
  std::string scale_dtype = "f16";
  std::string activations = "dynamic";
  std::string calibration;  // corpus for static activation scales
  std::int64_t calibration_windows = 32;
  std::int64_t calibration_context = 0;  // 0: the model's context
  bool analyze = false;
  double max_ppl_increase = 0.0;
};

// Writes the quantized copy of request.model_dir to request.out_dir (or, with analyze alone,
// only the sensitivity analysis), printing a summary. Throws core::UserError for bad input.
void run_quantize(const QuantizeRequest& request);

}  // namespace sieve::apps
