// The seeds of fuzz_quantized_model_dir (tests/support/fuzz_seeds.h): each directory loaded and
// run for a few tokens as the target does, under the target's memory limit.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "fuzz_inputs.h"
#include "fuzz_seeds.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/model_limits.h"
#include "temp_dir.h"

namespace sieve::compress {
namespace {

TEST(FuzzCorpus, QuantizedModelDirSeeds) {
  struct Limit {
    Limit() { io::set_max_model_bytes(fuzz::kQuantizedModelDirFuzzMaxModelBytes); }
    ~Limit() { io::set_max_model_bytes(0); }
  } limit;
  sieve::testing::check_fuzz_seeds("quantized_model_dir", [](const std::string& bytes, const std::string&) {
    sieve::testing::TempDir dir;
    const auto parts = fuzz::split_parts(bytes, 2);
    const char* files[] = {io::kConfigFile, io::kWeightsFile};
    for (std::size_t i = 0; i < parts.size(); ++i)
      std::ofstream(dir / files[i], std::ios::binary).write(parts[i].data(), static_cast<std::streamsize>(parts[i].size()));
    const auto model = load_quantized_model(dir.path());
    autograd::NoGradGuard no_grad;
    const core::Tensor logits = model->forward(core::Tensor::from_vector<std::int64_t>({0, 5, 31}, {1, 3}));
    EXPECT_EQ(logits.shape(), (core::Shape{1, 3, model->config().vocab_size}));
  });
}

}  // namespace
}  // namespace sieve::compress
