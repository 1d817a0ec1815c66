// wikitext-103 raw corpus (wiki.train.raw, wiki.valid.raw, wiki.test.raw). An article starts at
// a level-1 heading line " = Title = "; deeper headings (" = = Section = = ") stay inside it.
// Each article is one document, text kept as is (title line included, "@-@" style tokens
// untouched); only blank lines before and after an article are dropped. Non-blank text before
// the first heading is a document of its own.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "sieve/data/corpus.h"
#include "sieve/data/line_reader.h"

namespace sieve::data {

// True for " = Title = " (surrounding spaces optional), false for " = = Section = = ".
bool is_wikitext_article_title(std::string_view line);

class WikitextReader final : public DocumentReader {
 public:
  explicit WikitextReader(const std::filesystem::path& path) : lines_(path) {}

  bool next(std::string& document) override;
  std::uint64_t bytes_consumed() const override { return lines_.bytes_consumed(); }
  std::uint64_t bytes_total() const override { return lines_.bytes_total(); }

 private:
  LineReader lines_;
  std::string line_;
  std::string blank_run_;       // blank lines seen since the last text line
  std::string pending_title_;   // the heading that ended the previous article
  bool has_pending_title_ = false;
};

}  // namespace sieve::data
