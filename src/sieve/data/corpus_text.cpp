#include "sieve/data/corpus_text.h"

namespace sieve::data {

bool TextCorpusReader::next(std::string& document) {
  document.clear();
  while (lines_.next(line_)) {
    if (is_blank(line_)) {
      if (!document.empty()) return true;
      continue;
    }
    if (!document.empty()) document += '\n';
    document += line_;
  }
  return !document.empty();
}

}  // namespace sieve::data
