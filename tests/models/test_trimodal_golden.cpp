// Golden test: the trimodal model's image stem and a trunk block, with fixed weights, must match
// PyTorch — the tokens, the block's output with key padding, and the gradients of the pixels and
// of every parameter on the path. The fixture comes from scripts/make_trimodal_fixture.py
// (PyTorch in float64, stored as f32), and is also a model directory io loads as is.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "close_tensors.h"
#include "sieve/autograd/engine.h"
#include "sieve/io/safetensors.h"
#include "sieve/io/trimodal_model_dir.h"
#include "sieve/ops/arithmetic.h"
#include "sieve/ops/shape_ops.h"

namespace sieve {
namespace {

namespace fs = std::filesystem;
using core::Tensor;
using testing::expect_close;

template <typename M>
std::shared_ptr<M> submodule(const nn::Module& model, const std::string& path) {
  for (const auto& [name, module] : model.named_modules())
    if (name == path) return std::dynamic_pointer_cast<M>(module);
  return nullptr;
}

// Tokens [0, lengths[b]) of each row b, concatenated: the outputs the block's contract covers.
Tensor valid_tokens(const Tensor& x, const std::vector<std::int64_t>& lengths) {
  std::vector<Tensor> rows;
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    const auto r = static_cast<std::int64_t>(b);
    rows.push_back(ops::reshape(ops::contiguous(ops::slice(ops::slice(x, 0, r, r + 1), 1, 0, lengths[b])),
                                {lengths[b], x.size(2)}));
  }
  return ops::contiguous(ops::concat(rows, 0));
}

TEST(TriModalGolden, ImageStemAndTrunkBlockMatchPyTorch) {
  const fs::path dir = fs::path(SIEVE_FIXTURE_DIR) / "golden_trimodal";
  const auto model = io::load_trimodal_model(dir);
  const auto expected = io::load_safetensors(dir / "expected.safetensors");
  const auto stem = submodule<nn::ImageStem>(*model, "image_stem");
  const auto block = submodule<nn::TransformerBlock>(*model, "trunk.layers.0");
  ASSERT_NE(stem, nullptr);
  ASSERT_NE(block, nullptr);

  Tensor pixels = expected.at("pixels").clone();
  pixels.set_requires_grad(true);
  const nn::TokenSequences tokens = stem->forward(pixels);
  expect_close(tokens.tokens, expected.at("image_tokens"), 1e-4, 1e-5, "image tokens");

  const Tensor lengths_tensor = expected.at("lengths");
  const std::vector<std::int64_t> lengths(lengths_tensor.data<std::int64_t>(),
                                          lengths_tensor.data<std::int64_t>() + lengths_tensor.numel());
  const Tensor out = block->forward(tokens.tokens, lengths, false);
  expect_close(valid_tokens(out, lengths), valid_tokens(expected.at("block_out"), lengths), 1e-4, 1e-5,
               "block output (valid tokens)");

  autograd::backward(ops::sum(ops::mul(out, expected.at("grad_output"))));
  expect_close(pixels.grad(), expected.at("grad.pixels"), 1e-3, 1e-6, "grad.pixels");
  int checked = 0;
  for (const auto& [name, parameter] : model->named_parameters()) {
    const auto it = expected.find("grad." + name);
    if (it == expected.end()) continue;
    ASSERT_TRUE(parameter.grad().defined()) << name;
    expect_close(parameter.grad(), it->second, 1e-3, 1e-6, "grad." + name);
    ++checked;
  }
  EXPECT_EQ(checked, 7 + 9);  // the image stem's parameters and the block's
}

}  // namespace
}  // namespace sieve
