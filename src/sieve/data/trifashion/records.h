// The text records of the trifashion data set, as the builder writes them (one JSON object per
// line in captions.jsonl, questions.jsonl, pairs.jsonl and utterances.jsonl) and the reader
// returns them. Ids are global: 0..N-1 over both splits, train records first. A `scene` is an
// index into its split's scene arrays.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/data/trifashion/vocabulary.h"

namespace sieve::data::trifashion {

enum class Split : std::uint8_t { kTrain = 0, kTest = 1 };
std::string_view split_name(Split split);

// "the item at `position` is of class `cls`": what a caption states.
struct Claim {
  int position = 0;
  int cls = 0;
};

struct Caption {
  std::int64_t id = 0;
  Split split = Split::kTrain;
  std::int64_t scene = 0;
  std::string text;
  std::vector<Claim> items;  // 2..4 claims, all true of the scene
  int template_id = 0;
  bool heldout = false;      // uses a held-out phrasing (test split only)
  std::int64_t utterance = 0;
};

struct Question {
  std::int64_t id = 0;
  Split split = Split::kTrain;
  std::int64_t scene = 0;
  QuestionType type = QuestionType::kWhat;
  std::string text;
  int answer = 0;  // index into answer_vocabulary()
  bool heldout = false;
  std::int64_t utterance = 0;
};

enum class PairKind : std::uint8_t { kPositive = 0, kOtherScene = 1, kSwappedPosition = 2, kChangedClass = 3 };
inline constexpr std::string_view kPairKindNames[] = {"positive", "other_scene", "swapped_position",
                                                      "changed_class"};

// A caption-image matching example: `text` matches scene `scene` iff `match`. Negatives are
// hard: another scene's caption, this scene's caption with two items' positions swapped, or
// with one item's class changed.
struct MatchingPair {
  std::int64_t id = 0;
  Split split = Split::kTrain;
  std::int64_t scene = 0;
  std::string text;
  bool match = false;
  PairKind kind = PairKind::kPositive;
  std::int64_t caption = -1;  // the caption the text is (or was derived from)
  bool heldout = false;
};

enum class UtteranceKind : std::uint8_t { kWord = 0, kCaption = 1, kQuestion = 2 };
inline constexpr std::string_view kUtteranceKindNames[] = {"word", "caption", "question"};

// A text for the audio half to speak. Captions and questions with the same text in the same
// split share one utterance.
struct Utterance {
  std::int64_t id = 0;
  std::string text;
  UtteranceKind kind = UtteranceKind::kWord;
  Split split = Split::kTrain;
};

}  // namespace sieve::data::trifashion
