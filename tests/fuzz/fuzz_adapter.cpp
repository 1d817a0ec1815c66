// libFuzzer target: a LoRA adapter file (adapter.safetensors: the adapter tensors plus the
// settings in the header's metadata), read with io::read_adapter_options and loaded onto a
// fresh tiny model (fuzz::adapter_fuzz_model_config, fuzz_inputs.h) with io::load_adapters.
//
// Input: the file's bytes. A core::UserError is the expected answer to a bad file; anything else
// (another exception, a sanitizer report, a load that leaves other adapters than the file holds)
// is a bug and crashes the run.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "fuzz_inputs.h"
#include "sieve/core/error.h"
#include "sieve/io/adapters.h"
#include "sieve/io/safetensors.h"

namespace fz = sieve::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path file = fz::scratch_dir() / "adapter.safetensors";
  fz::put_file(file, std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const sieve::nn::LoraOptions options = sieve::io::read_adapter_options(file);
    sieve::nn::LlamaForCausalLM model(fz::adapter_fuzz_model_config(), 0);
    const sieve::nn::LoraOptions loaded = sieve::io::load_adapters(model, file);
    if (loaded.rank != options.rank || loaded.targets != options.targets) fz::broken("settings read twice differ");
    std::set<std::string> in_model, in_file;
    for (const auto& [name, tensor] : sieve::nn::lora_parameters(model)) in_model.insert(name);
    for (const auto& name : sieve::io::SafetensorsFile(file).names()) in_file.insert(name);
    if (in_model != in_file) fz::broken("the model's adapters are not the file's");
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
