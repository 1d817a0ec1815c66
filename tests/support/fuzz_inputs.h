// Shared by the fuzz targets (tests/fuzz) and the tests that run their seeds: how an input
// holding several files is split, where the files go, and the settings each target loads with.
//
// Container format: part0 MARKER part1 MARKER part2 ..., with MARKER = kFilePartMarker. A part
// that is missing (fewer markers) leaves its file absent; bytes after the last expected part
// belong to it. The marker is in each target's .dict so mutations can add and drop parts.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/nn/models/llama_config.h"

namespace sieve::fuzz {

inline constexpr std::string_view kFilePartMarker = "\n#### sieve-fuzz-file ####\n";

// fuzz_model_dir: the memory limit for models (io::set_max_model_bytes), so a config that grows
// the model is refused rather than built.
inline constexpr std::uint64_t kModelDirFuzzMaxModelBytes = std::uint64_t{32} << 20;
// fuzz_quantized_model_dir: the same for quantized models (checked on their quantized size,
// compress::quantized_footprint); smaller, since each loaded model also runs a few tokens.
inline constexpr std::uint64_t kQuantizedModelDirFuzzMaxModelBytes = std::uint64_t{16} << 20;
// fuzz_dictd: the cap on a dictionary's (decompressed) text.
inline constexpr std::uint64_t kDictdFuzzMaxTextBytes = std::uint64_t{1} << 20;

// fuzz_adapter: the model the adapter files are loaded onto — vocab 32, hidden 16 (2 heads
// sharing 1 kv head), intermediate 32, a dense then a sparse layer. tests/fuzz/make_seeds.py
// writes its seeds for these shapes.
inline nn::LlamaConfig adapter_fuzz_model_config() {
  nn::LlamaConfig c;
  c.vocab_size = 32;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.max_position_embeddings = 64;
  c.attention.layers = {"dense", "sparse"};
  return c;
}

// At most `count` parts; the last one keeps any further markers.
inline std::vector<std::string_view> split_parts(std::string_view input, std::size_t count) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < count) {
    const auto at = input.find(kFilePartMarker);
    if (at == std::string_view::npos) break;
    parts.push_back(input.substr(0, at));
    input.remove_prefix(at + kFilePartMarker.size());
  }
  parts.push_back(input);
  return parts;
}

// A directory of this process, removed when it exits. In /dev/shm when the system has it: the
// targets write their files for every input, and memory never stalls on a busy disk.
inline const std::filesystem::path& scratch_dir() {
  struct Dir {
    std::filesystem::path path;
    Dir() {
      std::error_code error;
      const std::filesystem::path base =
          std::filesystem::is_directory("/dev/shm", error) ? "/dev/shm" : std::filesystem::temp_directory_path();
      std::string pattern = (base / "sieve-fuzz-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        std::perror("mkdtemp");
        std::abort();
      }
      path = pattern;
    }
    ~Dir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Dir dir;
  return dir.path;
}

// Writes `content` to `path`, or removes `path` when there is no content for it.
inline void put_file(const std::filesystem::path& path, std::optional<std::string_view> content) {
  if (!content) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content->data(), static_cast<std::streamsize>(content->size()));
  if (!out) {
    std::perror(path.c_str());
    std::abort();
  }
}

// The part `index` of `parts`, if the input had it.
inline std::optional<std::string_view> part(const std::vector<std::string_view>& parts, std::size_t index) {
  if (index < parts.size()) return parts[index];
  return std::nullopt;
}

// An accepted input broke a promise of the code under test: report and crash the run.
[[noreturn]] inline void broken(const char* what) {
  std::fprintf(stderr, "contract broken: %s\n", what);
  std::abort();
}

}  // namespace sieve::fuzz
