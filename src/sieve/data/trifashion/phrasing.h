// How sentences name a class: its base word, WordNet synonyms (split into those training text
// may use and those held out for evaluation) and its WordNet gloss, and the grammatical forms a
// template needs ("a sandal", "the sandal", "sandals").
//
// NOTE [Held-out phrasings]: each class's synonyms are the other lemmas of the first WordNet
// sense of its noun (kWordNetNouns). The last synonym in WordNet's order is held out; the others
// may appear in training text (about one mention in four uses one). Glosses never appear in
// training text. So training text knows "jersey" (t-shirt) and "gym shoe" (sneaker), while the
// held-out test subset asks about "tee shirt", "tennis shoe", "pant", "slipover", "frock" and
// every class by its gloss ("a shoe consisting of a sole fastened by straps to the foot").
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/data/trifashion/vocabulary.h"
#include "sieve/data/wordnet.h"

namespace sieve::data::trifashion {

struct ClassPhrasings {
  std::string base;                           // kClassWords
  std::vector<std::string> train_synonyms;    // may appear in any split's ordinary text
  std::vector<std::string> heldout_synonyms;  // only in the test split's held-out subset
  std::string gloss;                          // only in the held-out subset
};

using Phrasings = std::array<ClassPhrasings, kClassCount>;

// Looks every class up in WordNet. Throws core::UserError when a class noun is missing from it.
Phrasings class_phrasings(const WordNet& wordnet);

// One way of naming a class, in the forms the templates use.
struct Phrase {
  std::string indefinite;  // "a sandal", "an ankle boot", "a shoe consisting of ..."
  std::string definite;    // "the sandal", "the shoe consisting of ..."
  std::string plural;      // "sandals"; empty for a gloss
  bool is_gloss = false;   // a gloss reads only in templates that put it last
};

Phrase word_phrase(std::string_view word);
Phrase gloss_phrase(std::string_view gloss);

}  // namespace sieve::data::trifashion
