// libFuzzer target: a quantized model directory, loaded the way `sieve eval` and `sieve generate`
// load one — compress::load_quantized_model (config.json with its quantization section, and
// model.safetensors with I8 / U8 / F16 / F32 tensors) — then run for a few tokens, so the
// quantized kernels see what the file put in the formats.
//
// Input: config.json MARKER model.safetensors (fuzz_inputs.h; a missing part leaves that file
// out). The memory limit is kQuantizedModelDirFuzzMaxModelBytes, so a config that grows the
// model is refused rather than built. A core::UserError is the expected answer to a bad
// directory; anything else is a bug and crashes the run: another exception, a sanitizer report,
// a loaded model whose layers run other precisions than its quantization section names, or
// whose memory differs from what compress::quantized_footprint predicted before building it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz_inputs.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/quantization_config.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_footprint.h"
#include "sieve/compress/quantized_linear.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/core/error.h"
#include "sieve/core/parallel.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_limits.h"

namespace {

namespace compress = sieve::compress;
namespace fz = sieve::fuzz;
namespace io = sieve::io;

std::int64_t bytes_of(const sieve::core::Tensor& t) {
  return t.numel() * static_cast<std::int64_t>(sieve::core::dtype_size(t.dtype()));
}

// The loaded model runs each Linear at the precision the section gives it (f32 when unnamed),
// and holds what quantized_footprint predicted from the config and the section.
void check_loaded(const sieve::nn::LlamaForCausalLM& model, const std::filesystem::path& config_file) {
  const auto json = io::read_config_json(config_file);
  const compress::QuantizationPlan declared =
      compress::parse_quantization_section(json.at(io::kQuantizationSection), "config");
  for (const auto& [path, precision] : compress::plan_of(model).layers) {
    const auto it = declared.layers.find(path);
    const compress::Precision expected = it == declared.layers.end() ? compress::Precision::f32 : it->second;
    if (precision != expected) fz::broken("a layer runs another precision than the config names");
  }
  std::int64_t quantized_bytes = 0;
  for (const auto& [path, linear] : compress::model_linears(model)) {
    if (const auto* int8 = dynamic_cast<const compress::Int8LinearFormat*>(linear->weight_format()))
      quantized_bytes += bytes_of(int8->q()) + bytes_of(int8->scales());
    else if (const auto* int4 = dynamic_cast<const compress::Int4LinearFormat*>(linear->weight_format()))
      quantized_bytes += bytes_of(int4->packed()) + bytes_of(int4->scales());
  }
  const compress::QuantizedFootprint predicted = compress::quantized_footprint(model.config(), declared, "loaded");
  if (predicted.f32_parameters != model.parameter_count()) fz::broken("f32 parameters differ from quantized_footprint");
  if (predicted.quantized_tensor_bytes != quantized_bytes) fz::broken("quantized bytes differ from quantized_footprint");
  if (predicted.bytes > static_cast<std::int64_t>(fz::kQuantizedModelDirFuzzMaxModelBytes))
    fz::broken("a model over the memory limit loaded");
}

void run(const sieve::nn::LlamaForCausalLM& model) {
  const auto& config = model.config();
  const std::int64_t T = std::min<std::int64_t>(3, config.max_position_embeddings);
  std::vector<std::int64_t> ids;
  for (std::int64_t t = 0; t < T; ++t) ids.push_back(t * (config.vocab_size - 1) / std::max<std::int64_t>(1, T - 1));
  sieve::autograd::NoGradGuard no_grad;
  const sieve::core::Tensor logits = model.forward(sieve::core::Tensor::from_vector(ids, {1, T}));
  if (logits.shape() != sieve::core::Shape{1, T, config.vocab_size}) fz::broken("logits of the wrong shape");
}

void load_and_run(const std::filesystem::path& dir) {
  std::unique_ptr<sieve::nn::LlamaForCausalLM> model;
  try {
    model = compress::load_quantized_model(dir);
  } catch (const sieve::core::UserError&) {
    return;
  }
  check_loaded(*model, dir / io::kConfigFile);
  run(*model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool once = (io::set_max_model_bytes(fz::kQuantizedModelDirFuzzMaxModelBytes),
                            sieve::core::set_num_threads(1), true);
  (void)once;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = fz::split_parts(input, 2);
  const std::filesystem::path& dir = fz::scratch_dir();
  fz::put_file(dir / io::kConfigFile, fz::part(parts, 0));
  fz::put_file(dir / io::kWeightsFile, fz::part(parts, 1));
  load_and_run(dir);
  return 0;
}
