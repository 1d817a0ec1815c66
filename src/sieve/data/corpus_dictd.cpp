#include "sieve/data/corpus_dictd.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "sieve/core/error.h"
#include "sieve/data/gzip_file.h"
#include "sieve/data/line_reader.h"

namespace sieve::data {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_source_word(std::string_view word) {
  static constexpr std::array<std::string_view, 10> kSources = {
      "Webster", "WordNet", "PJC", "PJC.", "AS", "RDH", "GG", "RP", "JC", "Century"};
  return std::find(kSources.begin(), kSources.end(), word) != kSources.end();
}

// Words that may appear in a source tag besides the source names.
bool is_source_qualifier(std::string_view word) {
  static constexpr std::array<std::string_view, 5> kQualifiers = {"Suppl.", "sense", "Dict.",
                                                                  "Dict.,", "1906."};
  if (std::find(kQualifiers.begin(), kQualifiers.end(), word) != kQualifiers.end()) return true;
  // Years and versions: "1913", "1.5".
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.';
  });
}

}  // namespace

std::filesystem::path dictd_index_path(const std::filesystem::path& dict_file) {
  std::string name = dict_file.filename().string();
  for (const std::string_view suffix : {".dict.dz", ".dict"}) {
    if (name.ends_with(suffix)) {
      name.resize(name.size() - suffix.size());
      break;
    }
  }
  return dict_file.parent_path() / (name + ".index");
}

std::optional<std::uint64_t> decode_dictd_base64(std::string_view digits) {
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : digits) {
    int digit = -1;
    if (c >= 'A' && c <= 'Z') digit = c - 'A';
    else if (c >= 'a' && c <= 'z') digit = c - 'a' + 26;
    else if (c >= '0' && c <= '9') digit = c - '0' + 52;
    else if (c == '+') digit = 62;
    else if (c == '/') digit = 63;
    if (digit < 0) return std::nullopt;
    value = value * 64 + static_cast<std::uint64_t>(digit);
  }
  return value;
}

std::vector<DictdIndexEntry> read_dictd_index(const std::filesystem::path& index_file,
                                              std::uint64_t data_size) {
  std::error_code ec;
  SIEVE_USER_CHECK(std::filesystem::exists(index_file, ec),
                   "dictd index '{}' does not exist (a .dict.dz needs its .index beside it)",
                   index_file.string());
  LineReader lines(index_file);
  std::vector<DictdIndexEntry> entries;
  std::string line;
  std::int64_t line_number = 0;
  while (lines.next(line)) {
    ++line_number;
    if (trim(line).empty()) continue;
    const auto tab1 = line.find('\t');
    const auto tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
    SIEVE_USER_CHECK(tab2 != std::string::npos,
                     "line {} of dictd index '{}' is malformed (expected "
                     "'headword<TAB>offset<TAB>length')",
                     line_number, index_file.string());
    const auto tab3 = line.find('\t', tab2 + 1);  // dictd allows extra columns; ignored
    const std::string_view text(line);
    const std::string_view offset_digits = text.substr(tab1 + 1, tab2 - tab1 - 1);
    const std::string_view length_digits =
        text.substr(tab2 + 1, tab3 == std::string::npos ? std::string::npos : tab3 - tab2 - 1);
    const auto offset = decode_dictd_base64(offset_digits);
    const auto length = decode_dictd_base64(length_digits);
    SIEVE_USER_CHECK(offset && length,
                     "line {} of dictd index '{}' has an invalid offset/length '{}'/'{}' "
                     "(expected base64 digits A-Z a-z 0-9 + /)",
                     line_number, index_file.string(), offset_digits, length_digits);
    SIEVE_USER_CHECK(*offset <= data_size && *length <= data_size - *offset,
                     "line {} of dictd index '{}' (headword '{}') points at bytes [{}, {}) but the "
                     "dictionary text has only {} bytes: the index does not match the .dict file "
                     "or one of them is damaged",
                     line_number, index_file.string(), text.substr(0, tab1), *offset,
                     *offset + *length, data_size);
    entries.push_back({std::string(text.substr(0, tab1)), *offset, *length});
  }
  return entries;
}

namespace {

// The text between the brackets of a GCIDE source tag: source names ("1913 Webster",
// "WordNet 1.5", "PJC", ...) joined by "+".
bool is_source_tag_content(std::string_view content) {
  bool has_source = false;
  std::size_t pos = 0;
  while (pos < content.size()) {
    const auto begin = content.find_first_not_of(" \t+", pos);
    if (begin == std::string_view::npos) break;
    auto end = content.find_first_of(" \t+", begin);
    if (end == std::string_view::npos) end = content.size();
    const std::string_view word = content.substr(begin, end - begin);
    if (is_source_word(word)) {
      has_source = true;
    } else if (!is_source_qualifier(word)) {
      return false;
    }
    pos = end;
  }
  return has_source;
}

// `line` without its source tags; sets *removed if there were any.
std::string remove_source_tags(std::string_view line, bool* removed) {
  std::string out;
  std::size_t pos = 0;
  while (pos < line.size()) {
    const auto open = line.find('[', pos);
    if (open == std::string_view::npos) break;
    const auto close = line.find_first_of("[]", open + 1);
    if (close == std::string_view::npos) break;
    if (line[close] == ']' && is_source_tag_content(line.substr(open + 1, close - open - 1))) {
      out.append(line, pos, open - pos);
      *removed = true;
      // "[1913 Webster] Text" -> "Text", not " Text".
      pos = close + 1;
      if (pos < line.size() && line[pos] == ' ') ++pos;
      continue;
    }
    if (line[close] == '[') {  // '[' inside '[': resume at the inner one
      out.append(line, pos, close - pos);
      pos = close;
      continue;
    }
    out.append(line, pos, close + 1 - pos);
    pos = close + 1;
  }
  out.append(line, pos);
  return out;
}

}  // namespace

bool is_dictd_source_tag_line(std::string_view line) {
  line = trim(line);
  if (line.size() < 3 || line.front() != '[' || line.back() != ']') return false;
  line = line.substr(1, line.size() - 2);
  return line.find_first_of("[]") == std::string_view::npos && is_source_tag_content(line);
}

std::string clean_dictd_entry(std::string_view entry) {
  std::string out;
  out.reserve(entry.size());
  bool pending_blank = false;
  std::string line;
  std::size_t pos = 0;
  while (pos <= entry.size()) {
    auto end = entry.find('\n', pos);
    if (end == std::string_view::npos) end = entry.size();
    bool removed = false;
    const std::string raw = remove_source_tags(entry.substr(pos, end - pos), &removed);
    pos = end + 1;

    // Keep the indentation, collapse inner runs of blanks, drop trailing ones.
    line.clear();
    std::size_t i = 0;
    while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) line += raw[i++];
    const std::size_t indent = line.size();
    bool in_blank_run = false;
    for (; i < raw.size(); ++i) {
      if (is_space(raw[i])) {
        in_blank_run = true;
        continue;
      }
      if (in_blank_run) line += ' ';
      in_blank_run = false;
      line += raw[i];
    }
    if (line.size() == indent) {
      // A line that held only tags vanishes; a genuinely blank line separates paragraphs.
      if (!removed) pending_blank = !out.empty();
      continue;
    }
    if (!out.empty()) out += pending_blank ? "\n\n" : "\n";
    pending_blank = false;
    out += line;
  }
  return out;
}

DictdReader::DictdReader(const std::filesystem::path& dict_file, DictdOptions options)
    : options_(options) {
  std::error_code ec;
  SIEVE_USER_CHECK(std::filesystem::exists(dict_file, ec), "dictd file '{}' does not exist",
                   dict_file.string());
  text_ = dict_file.filename().string().ends_with(".dz") ? read_gzip_file(dict_file, options.max_text_bytes)
                                                         : read_binary_file(dict_file, options.max_text_bytes);
  const std::vector<DictdIndexEntry> entries =
      read_dictd_index(dictd_index_path(dict_file), text_.size());

  std::set<std::pair<std::uint64_t, std::uint64_t>> metadata;
  for (const auto& entry : entries) {
    if (entry.headword.starts_with("00-database-")) metadata.emplace(entry.offset, entry.length);
  }
  ranges_.reserve(entries.size());
  for (const auto& entry : entries) {
    if (entry.length == 0 || metadata.count({entry.offset, entry.length}) != 0) continue;
    ranges_.push_back({entry.offset, entry.length});
  }
  // File order, each distinct entry once.
  std::sort(ranges_.begin(), ranges_.end(), [](const Range& a, const Range& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.length < b.length;
  });
  ranges_.erase(std::unique(ranges_.begin(), ranges_.end(),
                            [](const Range& a, const Range& b) {
                              return a.offset == b.offset && a.length == b.length;
                            }),
                ranges_.end());
  for (const Range& range : ranges_) total_ += range.length;
}

bool DictdReader::next(std::string& document) {
  while (position_ < ranges_.size()) {
    const Range range = ranges_[position_++];
    consumed_ += range.length;
    const std::string_view raw = std::string_view(text_).substr(range.offset, range.length);
    if (options_.clean) {
      document = clean_dictd_entry(raw);
    } else {
      document.assign(raw);
    }
    if (!is_blank(document)) return true;
  }
  return false;
}

}  // namespace sieve::data
