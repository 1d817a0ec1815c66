// What the Python tests (test_*.py here) need from C++: a tiny model directory and a corpus made
// as the C++ tests make them (tests/support), and the logits the C++ API computes for token ids,
// to compare with sieve.Model.logits bit for bit.
//
//   python_test_helper model DIR [SEED]        tiny preset, 512-piece tokenizer, random weights
//   python_test_helper corpus FILE [SEED]      the made-up corpus
//   python_test_helper logits DIR OUT ID...    float32 logits [T, V] of the ids, raw, to OUT
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "apps/sieve/inference_model.h"
#include "made_up_corpus.h"
#include "sieve/autograd/grad_mode.h"
#include "tiny_model_dir.h"

namespace {

int write_logits(const std::filesystem::path& dir, const std::filesystem::path& out, std::vector<std::int64_t> ids) {
  const auto model = sieve::apps::load_inference_model(dir, {});
  sieve::autograd::NoGradGuard no_grad;
  const auto length = static_cast<std::int64_t>(ids.size());
  const sieve::core::Tensor logits = model->forward(sieve::core::Tensor::from_vector(ids, {1, length})).contiguous();
  std::ofstream file(out, std::ios::binary);
  file.write(static_cast<const char*>(logits.raw_data()), static_cast<std::streamsize>(logits.nbytes()));
  return file ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto seed = [&](std::size_t i) { return args.size() > i ? std::stoul(args[i]) : 1ul; };
  if (args.size() >= 2 && args[0] == "model") {
    sieve::testing::write_tiny_model_dir(args[1], seed(2));
    return 0;
  }
  if (args.size() >= 2 && args[0] == "corpus") {
    sieve::testing::write_made_up_corpus(args[1], static_cast<std::uint32_t>(seed(2)));
    return 0;
  }
  if (args.size() >= 4 && args[0] == "logits") {
    std::vector<std::int64_t> ids;
    for (std::size_t i = 3; i < args.size(); ++i) ids.push_back(std::stoll(args[i]));
    return write_logits(args[1], args[2], ids);
  }
  std::fprintf(stderr, "usage: python_test_helper model DIR [SEED] | corpus FILE [SEED] | logits DIR OUT ID...\n");
  return 2;
}
