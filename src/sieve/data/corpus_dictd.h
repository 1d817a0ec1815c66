// dictd dictionaries (Debian's dict-gcide, dict-foldoc, ...): NAME.dict.dz (dictzip) or
// NAME.dict, plus NAME.index beside it. Each index line is "headword TAB offset TAB length" with
// offset and length in dictd's base64 digits (A-Z a-z 0-9 + /, most significant first),
// addressing the decompressed text.
//
// One document per distinct entry, in file order. Several headwords often share one entry
// (GCIDE: 203k index lines, 126k distinct entries); it is yielded once, so the same text cannot
// land in both the train and validation split. The dictionary's own metadata ("00-database-*"
// headwords, and any other headword pointing at the same text, such as GCIDE's "00-gcide-*") is
// skipped.
//
// NOTE [dictd cleanup]: GCIDE entries carry print-era noise. clean_dictd_entry (on by default)
// makes three light changes and keeps everything else (pronunciation marks like
// \Af*fect"\, {cross references}, [=a] letter codes, [Obs.] usage labels, "--Author"
// citations):
//   1. source tags — "[1913 Webster]", "[WordNet 1.5 +PJC]", "[PJC]", ... — are removed, and a
//      line left blank by that disappears: 222k tag-only lines, 11% of GCIDE's bytes and no
//      content (a few thousand more tags sit at the start or end of a text line);
//   2. runs of spaces inside a line collapse to one space (the 1913 layout right-aligned
//      citations with up to ~50 spaces); leading indentation, which marks definitions and
//      quotations, is kept;
//   3. trailing spaces are stripped, runs of blank lines become one, and blank lines at the
//      start and end of the entry are dropped.
// Tag lines never occur in FOLDOC, so there only 2 and 3 apply.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/data/corpus.h"
#include "sieve/data/gzip_file.h"

namespace sieve::data {

struct DictdIndexEntry {
  std::string headword;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// NAME.dict.dz or NAME.dict -> NAME.index.
std::filesystem::path dictd_index_path(const std::filesystem::path& dict_file);

// Value of a dictd base64 number; nullopt for an empty string, a character outside the
// alphabet, or more than 10 digits (would overflow 60 bits).
std::optional<std::uint64_t> decode_dictd_base64(std::string_view digits);

// Parses `index_file`, checking every entry lies within [0, data_size). Throws core::UserError
// naming the file and line for a malformed line or an out-of-range entry.
std::vector<DictdIndexEntry> read_dictd_index(const std::filesystem::path& index_file,
                                              std::uint64_t data_size);

// See NOTE [dictd cleanup].
std::string clean_dictd_entry(std::string_view entry);

// True for a line holding only a GCIDE source tag, such as "   [1913 Webster +PJC]".
bool is_dictd_source_tag_line(std::string_view line);

struct DictdOptions {
  bool clean = true;  // apply clean_dictd_entry
  // The most text the dictionary may hold (decompressed); more is a UserError (gzip_file.h).
  std::uint64_t max_text_bytes = kMaxInMemoryFileBytes;
};

// Decompresses the dictionary and reads its index up front (GCIDE: ~40 MB of text), so errors
// surface at construction.
class DictdReader final : public DocumentReader {
 public:
  explicit DictdReader(const std::filesystem::path& dict_file, DictdOptions options = {});

  bool next(std::string& document) override;
  std::uint64_t bytes_consumed() const override { return consumed_; }
  std::uint64_t bytes_total() const override { return total_; }

  // Distinct non-metadata entries (documents may be fewer: an entry that is blank after
  // cleanup is skipped).
  std::size_t entry_count() const { return ranges_.size(); }

 private:
  struct Range {
    std::uint64_t offset;
    std::uint64_t length;
  };
  DictdOptions options_;
  std::string text_;
  std::vector<Range> ranges_;
  std::size_t position_ = 0;
  std::uint64_t consumed_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace sieve::data
