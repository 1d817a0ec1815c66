// The seeds of the PyTorch fuzz targets (tests/fuzz/make_torch_seeds.py: files torch.save wrote)
// through the code each target fuzzes (tests/support/fuzz_seeds.h), and the values of the valid
// state dict: float16 and bfloat16 storages, a transposed view and a view at a storage offset.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "fuzz_seeds.h"
#include "sieve/convert_torch/checkpoint_reader.h"
#include "sieve/convert_torch/state_dict_unpickler.h"

namespace sieve::convert_torch {
namespace {

std::span<const std::byte> as_bytes(const std::string& bytes) { return std::as_bytes(std::span(bytes.data(), bytes.size())); }

TEST(FuzzCorpusTorch, PickleSeeds) {
  sieve::testing::check_fuzz_seeds("torch_pickle", [](const std::string& bytes, const std::string& name) {
    (void)unpickle_state_dict(as_bytes(bytes), name);
  });
}

TEST(FuzzCorpusTorch, CheckpointSeeds) {
  sieve::testing::check_fuzz_seeds("torch_checkpoint", [](const std::string& bytes, const std::string& name) {
    const TorchCheckpoint checkpoint = TorchCheckpoint::open_bytes(as_bytes(bytes), name);
    for (const PickledTensor& tensor : checkpoint.tensors()) (void)checkpoint.load_f32(tensor);
  });
}

TEST(FuzzCorpusTorch, ValuesOfAStateDictTorchSaved) {
  std::ifstream in(sieve::testing::kFuzzCorpus / "torch_checkpoint" / "valid_state_dict", std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  const TorchCheckpoint checkpoint = TorchCheckpoint::open_bytes(as_bytes(bytes), "valid_state_dict");
  std::map<std::string, std::vector<float>> values;
  for (const PickledTensor& tensor : checkpoint.tensors()) values[tensor.name] = checkpoint.load_f32(tensor).to_vector();
  ASSERT_EQ(values.size(), 7u);
  EXPECT_EQ(values["weight"], (std::vector<float>{0.5f, -1.0f, 2.0f, 0.25f, 0.0f, -0.75f}));
  EXPECT_EQ(values["bias"], (std::vector<float>{1.0f, -1.0f}));
  const std::vector<float>& f32 = values["f32"];  // [4, 6]: i / 8, exact in every dtype
  ASSERT_EQ(f32.size(), 24u);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(f32[i], static_cast<float>(i) / 8) << i;
  EXPECT_EQ(values["f16"], f32);
  EXPECT_EQ(values["bf16"], f32);
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(values["transposed"][r * 4 + c], f32[c * 6 + r]);
  EXPECT_EQ(values["row"], std::vector<float>(f32.begin() + 12, f32.begin() + 18));
}

}  // namespace
}  // namespace sieve::convert_torch
