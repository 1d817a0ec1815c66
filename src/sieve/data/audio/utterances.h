// The utterances a spoken data set says aloud: DATA_DIR/utterances.jsonl, written by the text
// half of the data build. One JSON object per line:
//   {"id": 17, "text": "a sandal top-left and a bag bottom-right", "kind": "caption", "split": "train"}
// id: a non-negative integer, unique in the file; text: what is spoken (non-empty, at most
// kMaxSynthesisTextBytes); kind: "word" (a class name or one of its synonyms), "caption" or
// "question"; split: "train" or "test". Other fields are ignored; blank lines are skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::data::audio {

enum class UtteranceKind : std::uint8_t { word = 0, caption = 1, question = 2 };

std::string_view utterance_kind_name(UtteranceKind kind);

struct Utterance {
  std::int64_t id = 0;
  std::string text;
  UtteranceKind kind = UtteranceKind::word;
  bool test = false;  // split "test"
};

// Reads and validates the file; anything malformed is a core::UserError naming the file and line.
std::vector<Utterance> read_utterances(const std::filesystem::path& path);

// Writes `utterances` in the format above (for tests and tools; atomically).
void write_utterances(const std::filesystem::path& path, const std::vector<Utterance>& utterances);

}  // namespace sieve::data::audio
