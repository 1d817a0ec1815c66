// Captions, VQA questions and matching pairs for the scenes of one split, from templates.
//
// NOTE [Answer balance]: each question type keeps a running count per answer. For a question
// slot the generator takes, among the answers the scene can support, the one asked least so
// far; if that answer is still more than kAnswerSlack ahead of the type's rarest answer, the
// slot is dropped (rejection), so within a type no answer ever leads the rarest by more than
// kAnswerSlack + 1. The held-out subset keeps its own counts. Matching negatives are balanced
// over their three kinds the same way.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sieve/core/rng.h"
#include "sieve/data/trifashion/phrasing.h"
#include "sieve/data/trifashion/records.h"
#include "sieve/data/trifashion/scenes.h"

namespace sieve::data::trifashion {

inline constexpr std::int64_t kAnswerSlack = 2;

struct SplitText {
  std::vector<Caption> captions;  // ids 0.. within the split; utterance ids unset
  std::vector<Question> questions;
  std::vector<MatchingPair> pairs;  // `caption` indexes `captions`
};

// Per scene: a caption naming all four items, one naming 2 or 3, up to `questions_per_type`
// questions of each type, and a positive and a negative pair. With `heldout` (the test split)
// also one held-out-phrasing caption, questions (where, yes/no, count: "what" names no class)
// and a pair of each label.
SplitText generate_split_text(std::span<const Scene> scenes, Split split, bool heldout, int questions_per_type,
                              const Phrasings& phrasings, core::Rng& rng);

}  // namespace sieve::data::trifashion
