// Named model sizes used by the CLI, the demo and the benchmarks.
#pragma once

#include <string>
#include <vector>

#include "sieve/nn/models/llama_config.h"

namespace sieve::nn {

// "tiny" (tests), "demo" (make demo: trains in minutes on 2 cores), "lm-17m" (benchmarks:
// vocab 8192, dim 384, 6 layers, 6 heads, SwiGLU 1024, context 256), "lm-100m" (inference
// benchmarks, 97.5M parameters: vocab 8192, dim 768, 12 layers, 12 heads, SwiGLU 2048, context
// 1024). Unknown names are a UserError listing the known ones.
LlamaConfig preset_config(const std::string& name);
std::vector<std::string> preset_names();

}  // namespace sieve::nn
