#include "sieve/data/trifashion/dataset.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>

#include "sieve/core/error.h"
#include "sieve/data/array_file.h"
#include "sieve/data/gzip_file.h"
#include "sieve/data/line_reader.h"
#include "sieve/data/trifashion/format.h"

namespace sieve::data::trifashion {
namespace {

using Json = nlohmann::json;

// Where a JSON value came from, for error messages.
struct Origin {
  std::string file;
  std::uint64_t line = 0;  // 0: the whole file (the manifest)

  std::string describe() const { return line == 0 ? "'" + file + "'" : "'" + file + "' line " + std::to_string(line); }
};

const Json& field(const Json& object, std::string_view key, const Origin& origin) {
  SIEVE_USER_CHECK(object.is_object(), "{}: expected a JSON object", origin.describe());
  const auto it = object.find(key);
  SIEVE_USER_CHECK(it != object.end(), "{}: the field \"{}\" is missing", origin.describe(), key);
  return *it;
}

std::int64_t int_field(const Json& object, std::string_view key, const Origin& origin, std::int64_t min,
                       std::int64_t max) {
  const Json& value = field(object, key, origin);
  SIEVE_USER_CHECK(value.is_number_integer(), "{}: \"{}\" is not an integer", origin.describe(), key);
  const auto number = value.get<std::int64_t>();
  SIEVE_USER_CHECK(number >= min && number <= max, "{}: \"{}\" is {}, outside {}..{}", origin.describe(), key, number,
                   min, max);
  return number;
}

std::string string_field(const Json& object, std::string_view key, const Origin& origin) {
  const Json& value = field(object, key, origin);
  SIEVE_USER_CHECK(value.is_string(), "{}: \"{}\" is not a string", origin.describe(), key);
  return value.get<std::string>();
}

bool bool_field(const Json& object, std::string_view key, const Origin& origin) {
  const Json& value = field(object, key, origin);
  SIEVE_USER_CHECK(value.is_boolean(), "{}: \"{}\" is not true or false", origin.describe(), key);
  return value.get<bool>();
}

// The index of `value` in `names`, or a UserError.
template <typename Names>
int name_index(const Names& names, const std::string& value, std::string_view key, const Origin& origin) {
  for (std::size_t i = 0; i < std::size(names); ++i)
    if (names[i] == value) return static_cast<int>(i);
  core::throw_user_error("{}: \"{}\" is '{}', not a known value", origin.describe(), key, value);
}

std::vector<std::string> string_list(const Json& manifest, std::string_view key, const Origin& origin) {
  const Json& value = field(manifest, key, origin);
  SIEVE_USER_CHECK(value.is_array(), "{}: \"{}\" is not a list", origin.describe(), key);
  std::vector<std::string> out;
  for (const Json& item : value) {
    SIEVE_USER_CHECK(item.is_string(), "{}: \"{}\" holds a non-string", origin.describe(), key);
    out.push_back(item.get<std::string>());
  }
  return out;
}

// Reads the array the manifest lists under `role` and checks its shape against the manifest and
// against `inner` (the extents after the first; the first is the record count).
template <typename T>
Array<T> read_listed_array(const std::filesystem::path& dir, const Json& files, const std::string& role,
                           std::vector<std::int64_t> inner, const Origin& origin) {
  const Json& entry = field(files, role, origin);
  const std::string file = string_field(entry, "file", origin);
  const Json& listed_shape = field(entry, "shape", origin);
  Array<T> array = read_array_file<T>(dir / file, static_cast<int>(inner.size() + 1));
  SIEVE_USER_CHECK(listed_shape == Json(array.shape), "'{}' has shape {} but the manifest lists {}",
                   (dir / file).string(), Json(array.shape).dump(), listed_shape.dump());
  SIEVE_USER_CHECK(std::equal(inner.begin(), inner.end(), array.shape.begin() + 1),
                   "'{}' has shape {}, expected [N, {}]", (dir / file).string(), Json(array.shape).dump(),
                   Json(inner).dump());
  return array;
}

ImageSet image_set(Array<std::uint8_t> array) {
  return {array.shape[0], array.shape[1], array.shape[2], std::move(array.data)};
}

ClassificationSet read_classification(const std::filesystem::path& dir, const Json& files, const std::string& split,
                                      const Origin& origin) {
  ClassificationSet set;
  set.images = image_set(read_listed_array<std::uint8_t>(dir, files, "classify_" + split + "_images",
                                                         {kItemSide, kItemSide}, origin));
  auto labels = read_listed_array<std::uint8_t>(dir, files, "classify_" + split + "_labels", {}, origin);
  auto sources = read_listed_array<std::int32_t>(dir, files, "classify_" + split + "_sources", {}, origin);
  SIEVE_USER_CHECK(labels.shape[0] == set.images.count && sources.shape[0] == set.images.count,
                   "{} split: {} classification images but {} labels and {} sources", split, set.images.count,
                   labels.shape[0], sources.shape[0]);
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    SIEVE_USER_CHECK(labels.data[i] < kClassCount, "classify_{}_labels: label {} of item {} is not a class 0..9",
                     split, labels.data[i], i);
    SIEVE_USER_CHECK(sources.data[i] >= 0, "classify_{}_sources: item {} has a negative source index", split, i);
  }
  set.labels = std::move(labels.data);
  set.sources = std::move(sources.data);
  return set;
}

SceneSet read_scenes(const std::filesystem::path& dir, const Json& files, const std::string& split,
                     const Origin& origin) {
  SceneSet set;
  set.images = image_set(
      read_listed_array<std::uint8_t>(dir, files, "scenes_" + split + "_images", {kSceneSide, kSceneSide}, origin));
  const auto items = read_listed_array<std::int32_t>(dir, files, "scenes_" + split + "_items", {kPositionCount, 2}, origin);
  SIEVE_USER_CHECK(items.shape[0] == set.images.count, "{} split: {} scene images but {} item rows", split,
                   set.images.count, items.shape[0]);
  set.items.resize(set.images.count);
  for (std::int64_t s = 0; s < set.images.count; ++s)
    for (int p = 0; p < kPositionCount; ++p) {
      const std::int32_t cls = items.data[(s * kPositionCount + p) * 2];
      const std::int32_t source = items.data[(s * kPositionCount + p) * 2 + 1];
      SIEVE_USER_CHECK(cls >= 0 && cls < kClassCount && source >= 0,
                       "scenes_{}_items: scene {} cell {} has class {} and source {} (expected 0..9 and >= 0)", split,
                       s, p, cls, source);
      set.items[s][p] = {cls, source};
    }
  return set;
}

// Calls `parse(record, origin)` for each line of a JSON-lines file, checking "id" runs 0, 1, ...
template <typename Parse>
void read_json_lines(const std::filesystem::path& path, Parse parse) {
  LineReader reader(path);
  std::string line;
  Origin origin{path.string(), 0};
  while (reader.next(line)) {
    ++origin.line;
    Json record = Json::parse(line, nullptr, false);
    SIEVE_USER_CHECK(!record.is_discarded(), "{}: not valid JSON", origin.describe());
    const auto id = int_field(record, "id", origin, 0, INT64_MAX);
    SIEVE_USER_CHECK(id == static_cast<std::int64_t>(origin.line - 1), "{}: id {} where {} was expected",
                     origin.describe(), id, origin.line - 1);
    parse(record, origin);
  }
}

Split split_field(const Json& record, const Origin& origin) {
  const std::string name = string_field(record, "split", origin);
  return static_cast<Split>(name_index(std::array{"train", "test"}, name, "split", origin));
}

SplitData& split_data(Dataset& data, Split split) { return split == Split::kTrain ? data.train : data.test; }

std::int64_t scene_field(const Json& record, const Dataset& data, Split split, const Origin& origin) {
  const SplitData& s = split == Split::kTrain ? data.train : data.test;
  return int_field(record, "scene", origin, 0, s.scenes.images.count - 1);
}

void read_utterances(Dataset& data) {
  read_json_lines(data.dir / kUtterancesFile, [&](const Json& r, const Origin& origin) {
    Utterance u;
    u.id = static_cast<std::int64_t>(data.utterances.size());
    u.text = string_field(r, "text", origin);
    u.kind = static_cast<UtteranceKind>(name_index(kUtteranceKindNames, string_field(r, "kind", origin), "kind", origin));
    u.split = split_field(r, origin);
    data.utterances.push_back(std::move(u));
  });
}

void read_captions(Dataset& data) {
  const auto utterances = static_cast<std::int64_t>(data.utterances.size());
  std::int64_t id = 0;
  read_json_lines(data.dir / kCaptionsFile, [&](const Json& r, const Origin& origin) {
    Caption c;
    c.id = id++;
    c.split = split_field(r, origin);
    c.scene = scene_field(r, data, c.split, origin);
    c.text = string_field(r, "text", origin);
    const Json& items = field(r, "items", origin);
    SIEVE_USER_CHECK(items.is_array() && !items.empty() && items.size() <= kPositionCount,
                     "{}: \"items\" is not a list of 1..4 claims", origin.describe());
    for (const Json& item : items) {
      SIEVE_USER_CHECK(item.is_array() && item.size() == 2 && item[0].is_number_integer() && item[1].is_number_integer(),
                       "{}: a claim is not [position, class]", origin.describe());
      const auto position = item[0].get<std::int64_t>();
      const auto cls = item[1].get<std::int64_t>();
      SIEVE_USER_CHECK(position >= 0 && position < kPositionCount && cls >= 0 && cls < kClassCount,
                       "{}: claim [{}, {}] is outside positions 0..3 and classes 0..9", origin.describe(), position, cls);
      c.items.push_back({static_cast<int>(position), static_cast<int>(cls)});
    }
    c.template_id = static_cast<int>(int_field(r, "template", origin, 0, 255));
    c.heldout = bool_field(r, "heldout", origin);
    c.utterance = int_field(r, "utterance", origin, 0, utterances - 1);
    split_data(data, c.split).captions.push_back(std::move(c));
  });
}

void read_questions(Dataset& data) {
  const auto utterances = static_cast<std::int64_t>(data.utterances.size());
  std::int64_t id = 0;
  read_json_lines(data.dir / kQuestionsFile, [&](const Json& r, const Origin& origin) {
    Question q;
    q.id = id++;
    q.split = split_field(r, origin);
    q.scene = scene_field(r, data, q.split, origin);
    q.type = static_cast<QuestionType>(name_index(kQuestionTypeNames, string_field(r, "type", origin), "type", origin));
    q.text = string_field(r, "text", origin);
    q.answer = static_cast<int>(int_field(r, "answer_id", origin, 0, static_cast<std::int64_t>(data.answers.size()) - 1));
    const auto allowed = answers_of_type(q.type);
    SIEVE_USER_CHECK(std::find(allowed.begin(), allowed.end(), q.answer) != allowed.end() &&
                         string_field(r, "answer", origin) == data.answers[q.answer],
                     "{}: the answer does not match its answer_id {} or is not an answer of a '{}' question",
                     origin.describe(), q.answer, kQuestionTypeNames[static_cast<int>(q.type)]);
    q.heldout = bool_field(r, "heldout", origin);
    q.utterance = int_field(r, "utterance", origin, 0, utterances - 1);
    split_data(data, q.split).questions.push_back(std::move(q));
  });
}

void read_pairs(Dataset& data) {
  const auto captions = static_cast<std::int64_t>(data.train.captions.size() + data.test.captions.size());
  std::int64_t id = 0;
  read_json_lines(data.dir / kPairsFile, [&](const Json& r, const Origin& origin) {
    MatchingPair p;
    p.id = id++;
    p.split = split_field(r, origin);
    p.scene = scene_field(r, data, p.split, origin);
    p.text = string_field(r, "text", origin);
    p.match = int_field(r, "label", origin, 0, 1) == 1;
    p.kind = static_cast<PairKind>(name_index(kPairKindNames, string_field(r, "kind", origin), "kind", origin));
    SIEVE_USER_CHECK(p.match == (p.kind == PairKind::kPositive), "{}: label {} does not fit kind '{}'",
                     origin.describe(), p.match ? 1 : 0, kPairKindNames[static_cast<int>(p.kind)]);
    p.caption = int_field(r, "caption", origin, -1, captions - 1);
    p.heldout = bool_field(r, "heldout", origin);
    split_data(data, p.split).pairs.push_back(std::move(p));
  });
}

void check_count(const Json& counts, std::string_view key, std::int64_t actual, const Origin& origin) {
  const auto listed = int_field(counts, key, origin, 0, INT64_MAX);
  SIEVE_USER_CHECK(listed == actual, "{}: counts.{} is {} but the files hold {}", origin.describe(), key, listed, actual);
}

}  // namespace

Dataset load(const std::filesystem::path& dir) {
  Dataset data;
  data.dir = dir;
  const Origin origin{(dir / kManifestFile).string(), 0};
  std::error_code ec;
  SIEVE_USER_CHECK(std::filesystem::is_directory(dir, ec), "trifashion data directory '{}' does not exist "
                   "(build one with `sieve data build trifashion --out {}`)", dir.string(), dir.string());
  const Json manifest = Json::parse(read_binary_file(dir / kManifestFile), nullptr, false);
  SIEVE_USER_CHECK(!manifest.is_discarded() && manifest.is_object(), "{} is not a JSON object", origin.describe());
  SIEVE_USER_CHECK(string_field(manifest, "format", origin) == kFormatName, "{} is not a trifashion manifest",
                   origin.describe());
  const auto version = int_field(manifest, "format_version", origin, 0, INT64_MAX);
  SIEVE_USER_CHECK(version == kFormatVersion, "{}: format version {} is not the {} this Sieve reads (rebuild the data)",
                   origin.describe(), version, kFormatVersion);
  data.seed = field(manifest, "seed", origin).is_number_unsigned() ? manifest["seed"].get<std::uint64_t>() : 0;
  data.size = string_field(manifest, "size", origin);
  data.class_names = string_list(manifest, "class_names", origin);
  data.class_words = string_list(manifest, "class_words", origin);
  data.answers = string_list(manifest, "answers", origin);
  SIEVE_USER_CHECK(data.class_names.size() == kClassCount && data.class_words.size() == kClassCount &&
                       data.answers == answer_vocabulary(),
                   "{}: the class or answer vocabulary is not the one this Sieve uses (rebuild the data)",
                   origin.describe());

  const Json& files = field(manifest, "files", origin);
  data.train.classification = read_classification(dir, files, "train", origin);
  data.test.classification = read_classification(dir, files, "test", origin);
  data.train.scenes = read_scenes(dir, files, "train", origin);
  data.test.scenes = read_scenes(dir, files, "test", origin);
  data.retrieval_pool = read_listed_array<std::int32_t>(dir, files, "retrieval_pool", {}, origin).data;
  for (const std::int32_t scene : data.retrieval_pool)
    SIEVE_USER_CHECK(scene >= 0 && scene < data.test.scenes.images.count,
                     "'{}': scene {} is not a test scene index", (dir / kRetrievalPoolFile).string(), scene);

  read_utterances(data);
  read_captions(data);
  read_questions(data);
  read_pairs(data);
  data.tokenizer_model = dir / kTokenizerFile;
  SIEVE_USER_CHECK(std::filesystem::is_regular_file(data.tokenizer_model, ec), "'{}' is missing",
                   data.tokenizer_model.string());
  data.spoken = audio::load_spoken_set(dir);
  for (const audio::SpokenClip& clip : data.spoken.clips)
    SIEVE_USER_CHECK(clip.utterance_id >= 0 && clip.utterance_id < static_cast<std::int64_t>(data.utterances.size()),
                     "{}: a spoken clip is of utterance {}, which utterances.jsonl does not have",
                     (dir / "audio").string(), clip.utterance_id);

  const Json& counts = field(manifest, "counts", origin);
  check_count(counts, "classification_train", data.train.classification.images.count, origin);
  check_count(counts, "classification_test", data.test.classification.images.count, origin);
  check_count(counts, "scenes_train", data.train.scenes.images.count, origin);
  check_count(counts, "scenes_test", data.test.scenes.images.count, origin);
  check_count(counts, "retrieval_pool", static_cast<std::int64_t>(data.retrieval_pool.size()), origin);
  check_count(counts, "captions", static_cast<std::int64_t>(data.train.captions.size() + data.test.captions.size()), origin);
  check_count(counts, "questions", static_cast<std::int64_t>(data.train.questions.size() + data.test.questions.size()), origin);
  check_count(counts, "pairs", static_cast<std::int64_t>(data.train.pairs.size() + data.test.pairs.size()), origin);
  check_count(counts, "utterances", static_cast<std::int64_t>(data.utterances.size()), origin);
  return data;
}

}  // namespace sieve::data::trifashion
