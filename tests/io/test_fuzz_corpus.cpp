// The seeds of the fuzz targets that load through io (tests/support/fuzz_seeds.h).
#include <gtest/gtest.h>

#include <string>

#include "fuzz_inputs.h"
#include "fuzz_seeds.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/adapters.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_family.h"
#include "sieve/io/model_limits.h"
#include "sieve/io/safetensors.h"
#include "sieve/io/trimodal_config.h"
#include "temp_dir.h"

namespace sieve::io {
namespace {

using sieve::testing::check_fuzz_seeds;
using sieve::testing::TempDir;

void write(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(FuzzCorpus, SafetensorsSeeds) {
  check_fuzz_seeds("safetensors", [](const std::string& bytes, const std::string& name) {
    (void)parse_safetensors_header(std::as_bytes(std::span(bytes.data(), bytes.size())), name);
  });
}

TEST(FuzzCorpus, ConfigSeeds) {
  check_fuzz_seeds("config", [](const std::string& text, const std::string& name) {
    const nlohmann::json json = parse_config_json_text(text, name);
    if (model_family(json, name) == nn::kTriModalFamily) {
      (void)parse_trimodal_config(json, name);
    } else {
      (void)parse_llama_config(json, name);
    }
  });
}

// As fuzz_model_dir: the directory's model and its tokenizer, under the target's memory limit.
TEST(FuzzCorpus, ModelDirSeeds) {
  struct Limit {
    Limit() { set_max_model_bytes(fuzz::kModelDirFuzzMaxModelBytes); }
    ~Limit() { set_max_model_bytes(0); }
  } limit;
  check_fuzz_seeds("model_dir", [](const std::string& bytes, const std::string&) {
    TempDir dir;
    const auto parts = fuzz::split_parts(bytes, 3);
    const char* files[] = {kConfigFile, kWeightsFile, kTokenizerFile};
    for (std::size_t i = 0; i < parts.size(); ++i) write(dir / files[i], parts[i]);
    (void)load_model(dir.path());
    const auto tokenizer = data::Tokenizer::load(dir / kTokenizerFile);
    (void)tokenizer.decode(tokenizer.encode("the quick brown fox, 42 times"));
  });
}

// As fuzz_adapter: the file's settings, then the adapters on the target's tiny model.
TEST(FuzzCorpus, AdapterSeeds) {
  check_fuzz_seeds("adapter", [](const std::string& bytes, const std::string&) {
    TempDir dir;
    write(dir / kAdapterFile, bytes);
    (void)read_adapter_options(dir / kAdapterFile);
    nn::LlamaForCausalLM model(fuzz::adapter_fuzz_model_config(), 0);
    (void)load_adapters(model, dir / kAdapterFile);
  });
}

}  // namespace
}  // namespace sieve::io
