#include "sieve/data/audio/utterances.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/data/audio/speech_synth.h"

namespace sieve::data::audio {

std::string_view utterance_kind_name(UtteranceKind kind) {
  switch (kind) {
    case UtteranceKind::word: return "word";
    case UtteranceKind::caption: return "caption";
    case UtteranceKind::question: return "question";
  }
  return "?";
}

std::vector<Utterance> read_utterances(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream in(path);
  SIEVE_USER_CHECK(in.good(), "cannot read the utterance list '{}' (the text half of the data build writes it)",
                   name);
  std::vector<Utterance> utterances;
  std::unordered_set<std::int64_t> ids;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = [&] { return fmt::format("{}:{}", name, number); };
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      core::throw_user_error("{}: not a JSON object: {}", where(), e.what());
    }
    SIEVE_USER_CHECK(object.is_object(), "{}: expected a JSON object", where());
    const auto field = [&](const char* key, bool (nlohmann::json::*is)() const noexcept, const char* type) {
      const auto it = object.find(key);
      SIEVE_USER_CHECK(it != object.end() && ((*it).*is)(), "{}: \"{}\" must be {}", where(), key, type);
      return *it;
    };
    Utterance u;
    u.id = field("id", &nlohmann::json::is_number_integer, "an integer").get<std::int64_t>();
    SIEVE_USER_CHECK(u.id >= 0, "{}: id {} is negative", where(), u.id);
    SIEVE_USER_CHECK(ids.insert(u.id).second, "{}: id {} appears twice", where(), u.id);
    u.text = field("text", &nlohmann::json::is_string, "a string").get<std::string>();
    SIEVE_USER_CHECK(u.text.find_first_not_of(" \t\r\n") != std::string::npos, "{}: the text is empty", where());
    SIEVE_USER_CHECK(u.text.size() <= kMaxSynthesisTextBytes, "{}: the text has {} bytes (at most {})", where(),
                     u.text.size(), kMaxSynthesisTextBytes);
    const std::string kind = field("kind", &nlohmann::json::is_string, "a string").get<std::string>();
    if (kind == "word") {
      u.kind = UtteranceKind::word;
    } else if (kind == "caption") {
      u.kind = UtteranceKind::caption;
    } else if (kind == "question") {
      u.kind = UtteranceKind::question;
    } else {
      core::throw_user_error("{}: kind \"{}\" is not word, caption or question", where(), kind);
    }
    const std::string split = field("split", &nlohmann::json::is_string, "a string").get<std::string>();
    SIEVE_USER_CHECK(split == "train" || split == "test", "{}: split \"{}\" is not train or test", where(), split);
    u.test = split == "test";
    utterances.push_back(std::move(u));
  }
  SIEVE_USER_CHECK(!in.bad(), "cannot read the utterance list '{}'", name);
  SIEVE_USER_CHECK(!utterances.empty(), "the utterance list '{}' is empty", name);
  return utterances;
}

void write_utterances(const std::filesystem::path& path, const std::vector<Utterance>& utterances) {
  std::string text;
  for (const Utterance& u : utterances) {
    const nlohmann::json object = {{"id", u.id},
                                   {"text", u.text},
                                   {"kind", utterance_kind_name(u.kind)},
                                   {"split", u.test ? "test" : "train"}};
    text += object.dump() + "\n";
  }
  core::write_file_atomically(path, text);
}

}  // namespace sieve::data::audio
