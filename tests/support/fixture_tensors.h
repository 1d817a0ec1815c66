// Reads a safetensors fixture (F32 and I64 tensors only) into core::Tensors, for test binaries
// below io/ that cannot link io::load_safetensors (tests/ops). Layout: u64 little-endian
// header length N, N bytes of JSON ({name: {dtype, shape, data_offsets}}), then the data.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sieve/core/tensor.h"

namespace sieve::testing {

inline std::map<std::string, core::Tensor> read_fixture_tensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), sizeof header_size);
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  const std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, core::Tensor> tensors;
  const nlohmann::json parsed = nlohmann::json::parse(header);
  for (const auto& [name, entry] : parsed.items()) {
    if (name == "__metadata__") continue;
    const core::Shape shape = entry.at("shape").get<core::Shape>();
    const auto begin = entry.at("data_offsets")[0].get<std::size_t>();
    const auto end = entry.at("data_offsets")[1].get<std::size_t>();
    const std::string dtype = entry.at("dtype").get<std::string>();
    auto values = [&](auto zero) {
      std::vector<decltype(zero)> v((end - begin) / sizeof(zero));
      std::memcpy(v.data(), data.data() + begin, end - begin);
      return core::Tensor::from_vector(v, shape);
    };
    if (dtype == "F32") {
      tensors.emplace(name, values(float{}));
    } else if (dtype == "I64") {
      tensors.emplace(name, values(std::int64_t{}));
    } else {
      ADD_FAILURE() << path << ": " << name << " has dtype " << dtype << " (only F32 and I64 are read)";
    }
  }
  return tensors;
}

}  // namespace sieve::testing
