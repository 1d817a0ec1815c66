#include "sieve/data/wordnet.h"

#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>

#include "sieve/core/error.h"
#include "sieve/data/line_reader.h"

namespace sieve::data {
namespace {

// A synset line is a few hundred bytes; the longest in WordNet 3.0 is under 20 kB.
constexpr std::size_t kMaxDataLineBytes = 1 << 16;

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> tokens;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    const std::size_t start = pos;
    while (pos < line.size() && line[pos] != ' ') ++pos;
    if (pos > start) tokens.push_back(line.substr(start, pos - start));
  }
  return tokens;
}

std::optional<std::uint64_t> parse_number(std::string_view token, int base = 10) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value, base);
  if (ec != std::errc{} || end != token.data() + token.size() || token.empty()) return std::nullopt;
  return value;
}

std::string index_key(std::string_view noun) {
  std::string key(noun);
  for (char& c : key) c = c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

std::string trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

// Parses one index.noun line into its lemma and synset offsets; returns the reason it is
// malformed otherwise.
std::optional<std::string> parse_index_line(std::string_view line, std::string& lemma,
                                            std::vector<std::uint64_t>& offsets) {
  const auto tokens = split_spaces(line);
  if (tokens.size() < 6) return "fewer than 6 fields";
  if (tokens[1] != "n") return "part of speech is not 'n'";
  const auto synset_count = parse_number(tokens[2]);
  const auto pointer_count = parse_number(tokens[3]);
  if (!synset_count || *synset_count == 0) return "synset count is not a positive number";
  if (!pointer_count) return "pointer count is not a number";
  if (tokens.size() != 6 + *pointer_count + *synset_count)
    return "field count does not match the declared pointer and synset counts";
  lemma = std::string(tokens[0]);
  offsets.clear();
  for (std::size_t i = tokens.size() - *synset_count; i < tokens.size(); ++i) {
    const auto offset = parse_number(tokens[i]);
    if (tokens[i].size() != 8 || !offset) return "a synset offset is not 8 decimal digits";
    offsets.push_back(*offset);
  }
  return std::nullopt;
}

}  // namespace

std::string gloss_definition(std::string_view gloss) {
  gloss = gloss.substr(0, gloss.find(';'));
  while (!gloss.empty() && gloss.front() == ' ') gloss.remove_prefix(1);
  if (gloss.starts_with("(") && gloss.find(')') != std::string_view::npos) gloss.remove_prefix(gloss.find(')') + 1);
  return trimmed(gloss);
}

WordNet::WordNet(std::filesystem::path dir) {
  const std::filesystem::path index_path = dir / "index.noun";
  data_path_ = dir / "data.noun";
  std::error_code ec;
  SIEVE_USER_CHECK(std::filesystem::is_regular_file(index_path, ec) && std::filesystem::is_regular_file(data_path_, ec),
                   "WordNet directory '{}' lacks index.noun or data.noun (Debian's wordnet-base installs them "
                   "in {})",
                   dir.string(), kDefaultWordNetDir);
  data_size_ = std::filesystem::file_size(data_path_, ec);
  SIEVE_USER_CHECK(!ec, "cannot read the size of '{}': {}", data_path_.string(), ec.message());

  LineReader reader(index_path);
  std::string line;
  std::string lemma;
  std::vector<std::uint64_t> offsets;
  std::uint64_t line_number = 0;
  while (reader.next(line)) {
    ++line_number;
    if (line.empty() || line[0] == ' ') continue;  // the licence header
    if (const auto reason = parse_index_line(line, lemma, offsets)) {
      if (skipped_.size() < kMaxSkipReasons)
        skipped_.push_back("index.noun line " + std::to_string(line_number) + ": " + *reason);
      ++skipped_count_;
      continue;
    }
    index_[lemma] = offsets;
  }
  SIEVE_USER_CHECK(!index_.empty(), "'{}' has no usable index line{}", index_path.string(),
                   skipped_.empty() ? "" : " (first problem: " + skipped_.front() + ")");
}

std::vector<WordNetSynset> WordNet::noun_synsets(std::string_view noun) const {
  const auto found = index_.find(index_key(noun));
  if (found == index_.end()) return {};
  std::vector<WordNetSynset> synsets;
  for (const std::uint64_t offset : found->second) synsets.push_back(read_synset(offset));
  return synsets;
}

WordNetSynset WordNet::read_synset(std::uint64_t offset) const {
  const std::string where = data_path_.string() + " at offset " + std::to_string(offset);
  SIEVE_USER_CHECK(offset < data_size_, "WordNet synset {} lies beyond the end of the file ({} bytes)", where,
                   data_size_);
  std::ifstream in(data_path_, std::ios::binary);
  SIEVE_USER_CHECK(in.is_open(), "cannot open '{}'", data_path_.string());
  in.seekg(static_cast<std::streamoff>(offset));
  std::string line;
  line.resize(std::min<std::uint64_t>(kMaxDataLineBytes, data_size_ - offset));
  in.read(line.data(), static_cast<std::streamsize>(line.size()));
  line.resize(static_cast<std::size_t>(in.gcount()));
  const std::size_t newline = line.find('\n');
  SIEVE_USER_CHECK(newline != std::string::npos || line.size() < kMaxDataLineBytes,
                   "WordNet synset {}: the line is longer than {} bytes", where, kMaxDataLineBytes);
  line.resize(std::min(newline, line.size()));
  if (!line.empty() && line.back() == '\r') line.pop_back();

  const std::size_t bar = line.find(" | ");
  const std::string_view fields = std::string_view(line).substr(0, bar);
  const auto tokens = split_spaces(fields);
  SIEVE_USER_CHECK(tokens.size() >= 4 && parse_number(tokens[0]) == offset,
                   "WordNet synset {}: the line there does not start with that offset (is the index from "
                   "another WordNet version?)",
                   where);
  SIEVE_USER_CHECK(tokens[2] == "n", "WordNet synset {}: type '{}' is not a noun ('n')", where, tokens[2]);
  const auto word_count = parse_number(tokens[3], 16);
  SIEVE_USER_CHECK(word_count && *word_count > 0 && tokens.size() >= 4 + 2 * *word_count,
                   "WordNet synset {}: the word count '{}' is not a hex number matching the words that follow",
                   where, tokens[3]);
  WordNetSynset synset;
  synset.offset = offset;
  for (std::uint64_t w = 0; w < *word_count; ++w) {
    std::string lemma(tokens[4 + 2 * w]);
    for (char& c : lemma) c = c == '_' ? ' ' : c;
    synset.lemmas.push_back(std::move(lemma));
  }
  if (bar != std::string::npos) synset.gloss = trimmed(std::string_view(line).substr(bar + 3));
  return synset;
}

}  // namespace sieve::data
