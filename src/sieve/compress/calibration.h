// Calibration for static INT8 activation scales: the largest |x| each Linear sees at its input
// over forward passes of sample batches. Each observed Linear's product is routed for the
// duration through an observing weight format (NOTE [Linear weight formats]) that runs the
// plain f32 product and records max |x|; the formats are removed afterwards, so the model is
// unchanged. A static scale is then max |x| / 127 (values beyond it saturate at run time).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sieve/core/tensor.h"
#include "sieve/nn/models/llama.h"

namespace sieve::compress {

// Max |x| at the input of each Linear named in `layers` (paths as model_linears gives them) over
// the model's forward passes on `batches` (int64 token ids [B, T]). The Linears must still hold
// their f32 weights. Runs under NoGradGuard.
std::map<std::string, float> calibrate_input_ranges(nn::LlamaForCausalLM& model, const std::vector<std::string>& layers,
                                                    const std::vector<core::Tensor>& batches);

}  // namespace sieve::compress
