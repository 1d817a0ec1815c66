// libFuzzer target: a whole model directory, loaded the way `sieve generate` and `sieve eval`
// load one — io::load_model (config.json + model.safetensors) and the tokenizer
// (tokenizer.model), which then encodes and decodes a line of text.
//
// Input: config.json MARKER model.safetensors MARKER tokenizer.model (fuzz_inputs.h; a missing
// part leaves that file out). The memory limit is kModelDirFuzzMaxModelBytes, so a config that grows the model is
// refused rather than built. A core::UserError is the expected answer to a bad directory;
// anything else (another exception, a sanitizer report, a loaded model whose parameters differ
// from what io::llama_footprint predicted from its config) is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz_inputs.h"
#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_layout.h"
#include "sieve/io/model_limits.h"

namespace {

namespace fz = sieve::fuzz;
namespace io = sieve::io;

void load_model(const std::filesystem::path& dir) {
  std::unique_ptr<sieve::nn::LlamaForCausalLM> model;
  try {
    model = io::load_model(dir);
  } catch (const sieve::core::UserError&) {
    return;
  }
  const io::ModelFootprint predicted = io::llama_footprint(model->config(), "loaded config");
  if (predicted.parameters != model->parameter_count()) fz::broken("parameter count differs from llama_footprint");
  if (predicted.parameter_tensors != static_cast<std::int64_t>(model->named_parameters().size()))
    fz::broken("tensor count differs from llama_footprint");
}

void load_tokenizer(const std::filesystem::path& file) {
  try {
    const auto tokenizer = sieve::data::Tokenizer::load(file);
    const auto ids = tokenizer.encode("the quick brown fox, 42 times");
    (void)tokenizer.decode(ids);
  } catch (const sieve::core::UserError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool limited = (io::set_max_model_bytes(fz::kModelDirFuzzMaxModelBytes), true);
  (void)limited;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = fz::split_parts(input, 3);
  const std::filesystem::path& dir = fz::scratch_dir();
  fz::put_file(dir / io::kConfigFile, fz::part(parts, 0));
  fz::put_file(dir / io::kWeightsFile, fz::part(parts, 1));
  fz::put_file(dir / io::kTokenizerFile, fz::part(parts, 2));
  load_model(dir);
  load_tokenizer(dir / io::kTokenizerFile);
  return 0;
}
