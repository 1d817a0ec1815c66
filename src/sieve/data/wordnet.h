// WordNet 3 noun lookups (Debian's wordnet-base): the synsets of a noun, each with its lemmas
// (synonyms) and gloss, from the dictionary's index.noun and data.noun.
//
// index.noun has one line per lemma — "lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt
// tagsense_cnt synset_offset..." — with the synsets in sense order (most frequent first).
// data.noun has one line per synset at the byte offset that names it — "offset lex_filenum
// ss_type w_cnt word lex_id ... p_cnt [pointer...] | gloss", w_cnt in hex. Lines starting with a
// space are the licence header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sieve::data {

inline constexpr const char* kDefaultWordNetDir = "/usr/share/wordnet";

struct WordNetSynset {
  std::uint64_t offset = 0;         // byte offset in data.noun: the synset's id
  std::vector<std::string> lemmas;  // in WordNet's order, '_' shown as a space ("gym shoe")
  std::string gloss;                // definition and examples, as in the file ("a canvas shoe ...")
};

class WordNet {
 public:
  // Reads `dir`/index.noun. A malformed index line is skipped (skipped_lines() says which and
  // why) rather than failing the whole dictionary; a missing index.noun or data.noun, or an
  // index with no usable line, throws core::UserError naming the file.
  explicit WordNet(std::filesystem::path dir = kDefaultWordNetDir);

  // The synsets of `noun` in sense order; empty when the noun is not in the index. The lookup
  // ignores case and accepts spaces for WordNet's underscores. Throws core::UserError naming
  // data.noun and the offset when a synset's line is missing or malformed.
  std::vector<WordNetSynset> noun_synsets(std::string_view noun) const;

  std::size_t lemma_count() const { return index_.size(); }
  // "index.noun line N: reason" for each skipped line (the first kMaxSkipReasons), and how many
  // were skipped in all.
  const std::vector<std::string>& skipped_lines() const { return skipped_; }
  std::size_t skipped_count() const { return skipped_count_; }

  static constexpr std::size_t kMaxSkipReasons = 20;

 private:
  WordNetSynset read_synset(std::uint64_t offset) const;

  std::filesystem::path data_path_;
  std::uint64_t data_size_ = 0;
  std::unordered_map<std::string, std::vector<std::uint64_t>> index_;
  std::vector<std::string> skipped_;
  std::size_t skipped_count_ = 0;
};

// The gloss's definition: the text before the first ';' that starts an example or a second
// clause ("a one-piece garment for a woman; has skirt and bodice" -> "a one-piece garment for a
// woman"), without a leading usage note ("(usually in the plural) a garment ..." -> "a garment
// ..."), trimmed.
std::string gloss_definition(std::string_view gloss);

}  // namespace sieve::data
