// A small text corpus of varied made-up words — enough for the tiny preset's 512-piece tokenizer
// — for tests that train through the CLI without touching real data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>

namespace sieve::testing {

// Writes 300 documents of 40 pseudo-random words (sentences of 10) to `path`; `seed` picks them.
inline void write_made_up_corpus(const std::filesystem::path& path, std::uint32_t seed) {
  std::ofstream out(path);
  std::uint32_t state = seed;
  const auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int doc = 0; doc < 300; ++doc) {
    for (int word = 0; word < 40; ++word) {
      const int letters = 2 + static_cast<int>(next() >> 29);
      for (int l = 0; l < letters; ++l) out << static_cast<char>('a' + (next() >> 16) % 26);
      out << (word % 10 == 9 ? ".\n" : " ");
    }
    out << "\n";
  }
}

}  // namespace sieve::testing
