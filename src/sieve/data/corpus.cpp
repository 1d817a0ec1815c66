#include "sieve/data/corpus.h"

#include <fmt/format.h>

#include "sieve/core/error.h"
#include "sieve/data/corpus_dictd.h"
#include "sieve/data/corpus_text.h"
#include "sieve/data/corpus_wikitext.h"

namespace sieve::data {

CorpusFormat detect_corpus_format(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  const auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".dict.dz") || ends_with(".dict")) return CorpusFormat::dictd;
  if (ends_with(".raw")) return CorpusFormat::wikitext;
  return CorpusFormat::text;
}

std::string_view corpus_format_name(CorpusFormat format) {
  switch (format) {
    case CorpusFormat::text: return "plain text";
    case CorpusFormat::wikitext: return "wikitext";
    case CorpusFormat::dictd: return "dictd";
  }
  return "unknown";
}

std::unique_ptr<DocumentReader> open_corpus(const std::filesystem::path& path) {
  switch (detect_corpus_format(path)) {
    case CorpusFormat::dictd: return std::make_unique<DictdReader>(path);
    case CorpusFormat::wikitext: return std::make_unique<WikitextReader>(path);
    case CorpusFormat::text: return std::make_unique<TextCorpusReader>(path);
  }
  SIEVE_CHECK(false, "unhandled corpus format");
}

std::int64_t for_each_document(const std::filesystem::path& path, const DocumentVisitor& visit) {
  const auto reader = open_corpus(path);
  std::string document;
  std::int64_t count = 0;
  while (reader->next(document)) {
    ++count;
    if (!visit(document)) break;
  }
  SIEVE_USER_CHECK(count > 0, "corpus '{}' contains no documents (expected non-blank {} text)",
                   path.string(), corpus_format_name(detect_corpus_format(path)));
  return count;
}

std::vector<std::string> read_corpus(const std::filesystem::path& path) {
  std::vector<std::string> documents;
  for_each_document(path, [&](std::string_view document) {
    documents.emplace_back(document);
    return true;
  });
  return documents;
}

bool is_blank(std::string_view text) {
  for (const char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  }
  return true;
}

}  // namespace sieve::data
