// Helpers shared by the data tests: scratch directories, files, generated text, and a tiny
// tokenizer trained once per test binary.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/data/tokenizer.h"
#include "temp_dir.h"

namespace sieve::data::testing {

using TempDir = sieve::testing::TempDir;

inline void write_file(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Pseudo-English paragraphs from a fixed word list: deterministic for a seed.
inline std::vector<std::string> generated_paragraphs(int count, std::uint32_t seed = 42) {
  static const std::vector<std::string> words = {
      "the",     "a",        "of",      "to",        "and",      "in",       "word",
      "meaning", "house",    "river",   "light",     "stone",    "quickly",  "slowly",
      "ancient", "modern",   "speak",   "write",     "reader",   "dictionary", "entry",
      "noun",    "verb",     "adjective", "obsolete", "literary", "sense",    "figure",
      "water",   "mountain", "garden",  "letter",    "number",   "question", "answer",
      "small",   "great",    "between", "without",   "under",    "over",     "through",
      "because", "although", "morning", "evening",   "winter",   "summer",   "machine",
      "program", "language", "compiler", "memory",   "network",  "signal",   "science"};
  std::mt19937 rng(seed);
  std::vector<std::string> paragraphs;
  for (int p = 0; p < count; ++p) {
    std::string text;
    const int sentences = 1 + static_cast<int>(rng() % 4);
    for (int s = 0; s < sentences; ++s) {
      const int length = 4 + static_cast<int>(rng() % 9);
      for (int w = 0; w < length; ++w) {
        std::string word = words[rng() % words.size()];
        if (w == 0) word[0] = static_cast<char>(word[0] - 'a' + 'A');
        if (w > 0) text += ' ';
        text += word;
      }
      text += rng() % 5 == 0 ? ";" : ".";
      if (s + 1 < sentences) text += rng() % 3 == 0 ? "\n   " : " ";
    }
    paragraphs.push_back(std::move(text));
  }
  return paragraphs;
}

inline std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// A 500-piece BPE tokenizer trained once per process on generated text.
inline const Tokenizer& tiny_tokenizer() {
  static const TempDir dir;
  static const Tokenizer tokenizer = [] {
    write_file(dir / "text.txt", join(generated_paragraphs(300), "\n"));
    TokenizerTrainOptions options;
    options.inputs = {dir / "text.txt"};
    options.model_prefix = dir / "tiny";
    options.vocab_size = 500;
    options.num_threads = 1;
    train_tokenizer(options);
    return Tokenizer::load(dir / "tiny.model");
  }();
  return tokenizer;
}

}  // namespace sieve::data::testing
