// Plain-text corpus: UTF-8 text where documents are separated by one or more blank
// (whitespace-only) lines. A document keeps its lines as written, joined by "\n" (a CRLF file
// reads as LF).
#pragma once

#include <filesystem>
#include <string>

#include "sieve/data/corpus.h"
#include "sieve/data/line_reader.h"

namespace sieve::data {

class TextCorpusReader final : public DocumentReader {
 public:
  explicit TextCorpusReader(const std::filesystem::path& path) : lines_(path) {}

  bool next(std::string& document) override;
  std::uint64_t bytes_consumed() const override { return lines_.bytes_consumed(); }
  std::uint64_t bytes_total() const override { return lines_.bytes_total(); }

 private:
  LineReader lines_;
  std::string line_;
};

}  // namespace sieve::data
