// Corpora: where training text comes from. Every format is read as a stream of documents (the
// unit the train/validation split and the EOS separators work on), pulled one at a time so a
// 500 MB file is never held twice.
//
// Formats, chosen by file name (detect_corpus_format):
//   *.dict.dz, *.dict  dictd dictionary (+ the .index beside it), one document per entry;
//                      see corpus_dictd.h
//   *.raw              wikitext-103 raw, one document per article; see corpus_wikitext.h
//   anything else      plain UTF-8 text, documents separated by blank lines; see corpus_text.h
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::data {

enum class CorpusFormat { text, wikitext, dictd };

CorpusFormat detect_corpus_format(const std::filesystem::path& path);
std::string_view corpus_format_name(CorpusFormat format);

// A pull-based stream of documents. Documents are never empty or whitespace-only.
class DocumentReader {
 public:
  virtual ~DocumentReader() = default;
  // Stores the next document in `document` and returns true, or returns false at the end.
  // Throws core::UserError on unreadable input.
  virtual bool next(std::string& document) = 0;
  // Progress, in input bytes (their ratio is what matters; units differ per format).
  virtual std::uint64_t bytes_consumed() const = 0;
  virtual std::uint64_t bytes_total() const = 0;
};

// Opens `path` in the format detect_corpus_format picks. Throws core::UserError if the file is
// missing or unreadable (dictd files are validated here, before the first document).
std::unique_ptr<DocumentReader> open_corpus(const std::filesystem::path& path);

// Return false to stop early.
using DocumentVisitor = std::function<bool(std::string_view document)>;

// Calls `visit` on each document of `path` in order; returns how many were visited. Throws
// core::UserError if the corpus holds no document at all.
std::int64_t for_each_document(const std::filesystem::path& path, const DocumentVisitor& visit);

// All documents of `path` (for small corpora and tests; large ones should stream).
std::vector<std::string> read_corpus(const std::filesystem::path& path);

// True if `text` has no non-whitespace character.
bool is_blank(std::string_view text);

}  // namespace sieve::data
