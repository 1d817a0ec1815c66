#include "sieve/data/corpus_wikitext.h"

namespace sieve::data {

bool is_wikitext_article_title(std::string_view line) {
  const auto first = line.find_first_not_of(' ');
  if (first == std::string_view::npos) return false;
  line = line.substr(first, line.find_last_not_of(' ') - first + 1);
  return line.size() >= 5 && line.starts_with("= ") && line.ends_with(" =") &&
         !line.starts_with("= =");
}

bool WikitextReader::next(std::string& document) {
  document.clear();
  blank_run_.clear();
  if (has_pending_title_) {
    document = std::move(pending_title_);
    has_pending_title_ = false;
  }
  while (lines_.next(line_)) {
    if (is_blank(line_)) {
      // Held back: kept only if more text of the same article follows.
      if (!document.empty()) {
        blank_run_ += line_;
        blank_run_ += '\n';
      }
      continue;
    }
    if (is_wikitext_article_title(line_) && !document.empty()) {
      pending_title_ = line_;
      has_pending_title_ = true;
      return true;
    }
    if (!document.empty()) {
      document += '\n';
      document += blank_run_;
    }
    blank_run_.clear();
    document += line_;
  }
  return !document.empty();
}

}  // namespace sieve::data
