#include "sieve/data/trifashion/phrasing.h"

#include <algorithm>
#include <cctype>

#include "sieve/core/error.h"

namespace sieve::data::trifashion {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with_vowel(std::string_view word) {
  return !word.empty() && std::string_view("aeiou").find(word.front()) != std::string_view::npos;
}

std::string pluralize(std::string_view word) {
  for (const std::string_view suffix : {"s", "sh", "ch", "x"})
    if (word.ends_with(suffix)) return std::string(word) + "es";
  return std::string(word) + "s";
}

}  // namespace

Phrasings class_phrasings(const WordNet& wordnet) {
  Phrasings phrasings;
  for (int c = 0; c < kClassCount; ++c) {
    ClassPhrasings& phrasing = phrasings[c];
    phrasing.base = std::string(kClassWords[c]);
    const auto synsets = wordnet.noun_synsets(kWordNetNouns[c]);
    SIEVE_USER_CHECK(!synsets.empty(), "WordNet has no noun '{}' (needed for the class '{}')", kWordNetNouns[c],
                     kClassNames[c]);
    std::vector<std::string> synonyms;
    for (const std::string& lemma : synsets.front().lemmas) {
      std::string word = lowercase(lemma);
      const bool is_class_word = std::find(kClassWords.begin(), kClassWords.end(), word) != kClassWords.end();
      if (word == kWordNetNouns[c] || is_class_word) continue;
      if (std::find(synonyms.begin(), synonyms.end(), word) == synonyms.end()) synonyms.push_back(std::move(word));
    }
    if (!synonyms.empty()) {
      phrasing.heldout_synonyms.push_back(synonyms.back());
      synonyms.pop_back();
    }
    phrasing.train_synonyms = std::move(synonyms);
    phrasing.gloss = gloss_definition(synsets.front().gloss);
    SIEVE_USER_CHECK(!phrasing.gloss.empty(), "WordNet's first sense of '{}' has no gloss", kWordNetNouns[c]);
  }
  return phrasings;
}

Phrase word_phrase(std::string_view word) {
  return {.indefinite = (starts_with_vowel(word) ? "an " : "a ") + std::string(word),
          .definite = "the " + std::string(word),
          .plural = pluralize(word),
          .is_gloss = false};
}

Phrase gloss_phrase(std::string_view gloss) {
  std::string indefinite;
  std::string definite;
  if (gloss.starts_with("a ") || gloss.starts_with("an ")) {
    indefinite = std::string(gloss);
    definite = "the " + std::string(gloss.substr(gloss.find(' ') + 1));
  } else {
    indefinite = "an item of " + std::string(gloss);  // "footwear that covers ..."
    definite = "the item of " + std::string(gloss);
  }
  return {.indefinite = indefinite, .definite = definite, .plural = "", .is_gloss = true};
}

}  // namespace sieve::data::trifashion
