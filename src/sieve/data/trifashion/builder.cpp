#include "sieve/data/trifashion/builder.h"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/core/rng.h"
#include "sieve/data/array_file.h"
#include "sieve/data/idx_file.h"
#include "sieve/data/audio/spoken_set.h"
#include "sieve/data/staging_dir.h"
#include "sieve/data/tokenizer.h"
#include "sieve/data/trifashion/phrasing.h"
#include "sieve/data/trifashion/scenes.h"
#include "sieve/data/trifashion/text.h"

namespace sieve::data::trifashion {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr SizePreset kPresets[] = {
    {"tiny", 1000, 500, 200, 100, 50, 2},
    {"small", 10000, 2000, 2000, 500, 250, 2},
    {"full", 60000, 10000, 20000, 2000, 1000, 2},
};

// The text is template sentences over a few hundred distinct words: a small vocabulary covers
// them with whole words, and glosses and held-out synonyms still split into shared sub-words.
constexpr int kTokenizerVocabSize = 512;

// The random stream of each part of the build, all derived from the one seed.
enum class Stream : std::uint64_t { kClassifyTrain = 1, kClassifyTest, kScenesTrain, kScenesTest, kTextTrain, kTextTest };

core::Rng stream_rng(std::uint64_t seed, Stream stream) {
  std::uint64_t state = seed;
  core::splitmix64(state);
  return core::Rng(core::splitmix64(state) ^ (static_cast<std::uint64_t>(stream) * 0x9E3779B97F4A7C15ull));
}

struct FashionSplit {
  std::int64_t count = 0;
  std::vector<std::uint8_t> images;  // count × 28 × 28
  std::vector<std::uint8_t> labels;
};

FashionSplit read_fashion_split(const std::filesystem::path& dir, const std::string& prefix) {
  const auto images_path = dir / (prefix + "-images-idx3-ubyte.gz");
  const auto labels_path = dir / (prefix + "-labels-idx1-ubyte.gz");
  IdxArray images = read_idx_file(images_path, 3);
  IdxArray labels = read_idx_file(labels_path, 1);
  SIEVE_USER_CHECK(images.dims[1] == kItemSide && images.dims[2] == kItemSide,
                   "'{}' holds {}x{} images, expected Fashion-MNIST's 28x28", images_path.string(), images.dims[1],
                   images.dims[2]);
  SIEVE_USER_CHECK(images.dims[0] == labels.dims[0], "'{}' has {} images but '{}' has {} labels",
                   images_path.string(), images.dims[0], labels_path.string(), labels.dims[0]);
  for (std::size_t i = 0; i < labels.data.size(); ++i)
    SIEVE_USER_CHECK(labels.data[i] < kClassCount, "'{}': label {} of item {} is not a class 0..9",
                     labels_path.string(), labels.data[i], i);
  const auto pools = class_pools(labels.data);
  for (int c = 0; c < kClassCount; ++c)
    SIEVE_USER_CHECK(!pools[c].empty(), "'{}' has no item of class {} ('{}')", labels_path.string(), c,
                     kClassNames[c]);
  return {static_cast<std::int64_t>(images.dims[0]), std::move(images.data), std::move(labels.data)};
}

// A seeded subset of `total` indices (all of them when `wanted` >= total), ascending.
std::vector<std::int32_t> choose_subset(std::int64_t total, std::int64_t wanted, core::Rng rng) {
  std::vector<std::int32_t> indices(total);
  for (std::int64_t i = 0; i < total; ++i) indices[i] = static_cast<std::int32_t>(i);
  if (wanted >= total) return indices;
  for (std::int64_t i = 0; i < wanted; ++i) std::swap(indices[i], indices[i + rng.below(total - i)]);
  indices.resize(wanted);
  std::sort(indices.begin(), indices.end());
  return indices;
}

template <typename T>
OrderedJson write_array(const std::filesystem::path& dir, const std::string& name, std::vector<std::int64_t> shape,
                 const std::vector<T>& values) {
  write_array_file<T>(dir / name, shape, values);
  return OrderedJson{{"file", name}, {"dtype", sizeof(T) == 1 ? "u8" : "i32"}, {"shape", shape}};
}

OrderedJson write_classification(const std::filesystem::path& dir, const char* split, const FashionSplit& fashion,
                          const std::vector<std::int32_t>& indices) {
  constexpr std::size_t kPixels = kItemSide * kItemSide;
  const auto n = static_cast<std::int64_t>(indices.size());
  std::vector<std::uint8_t> images(indices.size() * kPixels);
  std::vector<std::uint8_t> labels(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::copy_n(fashion.images.begin() + indices[i] * kPixels, kPixels, images.begin() + i * kPixels);
    labels[i] = fashion.labels[indices[i]];
  }
  OrderedJson files;
  files["classify_" + std::string(split) + "_images"] =
      write_array(dir, array_file_name("classify", split, "images"), {n, kItemSide, kItemSide}, images);
  files["classify_" + std::string(split) + "_labels"] =
      write_array(dir, array_file_name("classify", split, "labels"), {n}, labels);
  files["classify_" + std::string(split) + "_sources"] =
      write_array(dir, array_file_name("classify", split, "sources"), {n}, indices);
  return files;
}

OrderedJson write_scenes(const std::filesystem::path& dir, const char* split, const std::vector<Scene>& scenes,
                  const FashionSplit& fashion) {
  constexpr std::size_t kScenePixels = kSceneSide * kSceneSide;
  const auto n = static_cast<std::int64_t>(scenes.size());
  std::vector<std::uint8_t> images(scenes.size() * kScenePixels);
  std::vector<std::int32_t> items;
  items.reserve(scenes.size() * kPositionCount * 2);
  for (std::size_t s = 0; s < scenes.size(); ++s) {
    compose_scene(scenes[s], fashion.images, std::span(images).subspan(s * kScenePixels, kScenePixels));
    for (int p = 0; p < kPositionCount; ++p) {
      items.push_back(scenes[s].classes[p]);
      items.push_back(scenes[s].sources[p]);
    }
  }
  OrderedJson files;
  files["scenes_" + std::string(split) + "_images"] =
      write_array(dir, array_file_name("scenes", split, "images"), {n, kSceneSide, kSceneSide}, images);
  files["scenes_" + std::string(split) + "_items"] =
      write_array(dir, array_file_name("scenes", split, "items"), {n, kPositionCount, 2}, items);
  return files;
}

// Gives every caption and question an utterance; equal texts of one kind in one split share it.
class UtteranceTable {
 public:
  std::int64_t add(const std::string& text, UtteranceKind kind, Split split) {
    const auto key = std::make_tuple(split, kind, text);
    const auto [it, inserted] = ids_.emplace(key, static_cast<std::int64_t>(list_.size()));
    if (inserted) list_.push_back({it->second, text, kind, split});
    return it->second;
  }
  const std::vector<Utterance>& list() const { return list_; }

 private:
  std::map<std::tuple<Split, UtteranceKind, std::string>, std::int64_t> ids_;
  std::vector<Utterance> list_;
};

std::string json_lines(const std::vector<OrderedJson>& records) {
  std::string out;
  for (const OrderedJson& record : records) out += record.dump() + "\n";
  return out;
}

OrderedJson counts_by_answer(const std::vector<Question>& questions, Split split, bool heldout) {
  const auto vocabulary = answer_vocabulary();
  OrderedJson by_type = OrderedJson::object();
  for (int t = 0; t < kQuestionTypeCount; ++t) {
    OrderedJson counts = OrderedJson::object();
    for (const int a : answers_of_type(static_cast<QuestionType>(t))) counts[vocabulary[a]] = 0;
    for (const Question& q : questions)
      if (q.split == split && q.heldout == heldout && static_cast<int>(q.type) == t)
        counts[vocabulary[q.answer]] = counts[vocabulary[q.answer]].get<std::int64_t>() + 1;
    if (!(heldout && t == static_cast<int>(QuestionType::kWhat))) by_type[std::string(kQuestionTypeNames[t])] = counts;
  }
  return by_type;
}

std::uint64_t directory_bytes(const std::filesystem::path& dir) {
  std::uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) bytes += entry.file_size();
  return bytes;
}

// Writes the four JSON-lines files; returns their entries for the manifest's file list.
OrderedJson write_records(const std::filesystem::path& dir, const std::vector<Caption>& captions,
                          const std::vector<Question>& questions, const std::vector<MatchingPair>& pairs,
                          const std::vector<Utterance>& utterances) {
  std::vector<OrderedJson> records;
  for (const Caption& c : captions) {
    OrderedJson items = OrderedJson::array();
    for (const Claim& claim : c.items) items.push_back({claim.position, claim.cls});
    records.push_back({{"id", c.id}, {"split", split_name(c.split)}, {"scene", c.scene}, {"text", c.text},
                       {"items", items}, {"template", c.template_id}, {"heldout", c.heldout},
                       {"utterance", c.utterance}});
  }
  core::write_file_atomically(dir / kCaptionsFile, json_lines(records));
  const auto vocabulary = answer_vocabulary();
  records.clear();
  for (const Question& q : questions)
    records.push_back({{"id", q.id}, {"split", split_name(q.split)}, {"scene", q.scene},
                       {"type", kQuestionTypeNames[static_cast<int>(q.type)]}, {"text", q.text},
                       {"answer", vocabulary[q.answer]}, {"answer_id", q.answer}, {"heldout", q.heldout},
                       {"utterance", q.utterance}});
  core::write_file_atomically(dir / kQuestionsFile, json_lines(records));
  records.clear();
  for (const MatchingPair& p : pairs)
    records.push_back({{"id", p.id}, {"split", split_name(p.split)}, {"scene", p.scene}, {"text", p.text},
                       {"label", p.match ? 1 : 0}, {"kind", kPairKindNames[static_cast<int>(p.kind)]},
                       {"caption", p.caption}, {"heldout", p.heldout}});
  core::write_file_atomically(dir / kPairsFile, json_lines(records));
  records.clear();
  for (const Utterance& u : utterances)
    records.push_back({{"id", u.id}, {"text", u.text}, {"kind", kUtteranceKindNames[static_cast<int>(u.kind)]},
                       {"split", split_name(u.split)}});
  core::write_file_atomically(dir / kUtterancesFile, json_lines(records));

  OrderedJson files;
  files["captions"] = {{"file", kCaptionsFile}, {"records", captions.size()}};
  files["questions"] = {{"file", kQuestionsFile}, {"records", questions.size()}};
  files["pairs"] = {{"file", kPairsFile}, {"records", pairs.size()}};
  files["utterances"] = {{"file", kUtterancesFile}, {"records", utterances.size()}};
  return files;
}

// NOTE [Trifashion tokenizer]: trained on the training captions and questions plus every
// class's phrasings (held-out synonyms and glosses included), so held-out words split into
// pieces the model has embeddings for, and on the answer words; it sees no test sentence. One
// thread and the build's seed keep it byte-identical.
void train_text_tokenizer(const std::filesystem::path& dir, const std::vector<Caption>& captions,
                          const std::vector<Question>& questions, const Phrasings& phrasings, std::uint64_t seed) {
  std::string corpus;
  for (const Caption& c : captions)
    if (c.split == Split::kTrain) corpus += c.text + "\n";
  for (const Question& q : questions)
    if (q.split == Split::kTrain) corpus += q.text + "\n";
  for (const ClassPhrasings& p : phrasings) {
    corpus += p.base + "\n" + p.gloss + "\n";
    for (const auto& s : p.train_synonyms) corpus += s + "\n";
    for (const auto& s : p.heldout_synonyms) corpus += s + "\n";
  }
  for (const std::string& answer : answer_vocabulary()) corpus += answer + "\n";
  const std::filesystem::path corpus_path = dir / "tokenizer_corpus.txt";
  core::write_file_atomically(corpus_path, corpus);
  TokenizerTrainOptions options;
  options.inputs = {corpus_path};
  options.model_prefix = dir / "tokenizer";
  options.vocab_size = kTokenizerVocabSize;
  options.input_sentence_size = 0;
  options.num_threads = 1;
  options.seed = static_cast<std::uint32_t>(seed);
  train_tokenizer(options);
  std::filesystem::remove(corpus_path);
  std::filesystem::remove(dir / "tokenizer.vocab");
}

}  // namespace

std::span<const SizePreset> size_presets() { return kPresets; }

const SizePreset& size_preset(std::string_view name) {
  std::string names;
  for (const SizePreset& preset : kPresets) {
    if (preset.name == name) return preset;
    names += names.empty() ? preset.name : std::string(", ") + preset.name;
  }
  core::throw_user_error("unknown trifashion size '{}' (expected one of: {})", name, names);
}

namespace {

// The spoken set's settings for a size.
audio::SpokenSetOptions spoken_set_options(const SizePreset& preset) {
  const std::string_view name = preset.name;
  if (name == "full") return audio::SpokenSetOptions::full();
  audio::SpokenSetOptions options = audio::SpokenSetOptions::small();
  if (name == "tiny") {  // seconds, for tests: few voices, no festival (a third of a second a clip)
    options.train_voices = 6;
    options.test_voices = 3;
    options.held_out_variants = 2;
    options.train_voices_per_word = 3;
    options.test_voices_per_word = 2;
    options.festival_voices_per_word = 0;
    options.example_wavs = 2;
  }
  return options;
}

}  // namespace

BuildSummary build(const BuildOptions& options) {
  const SizePreset& preset = size_preset(options.size);
  const auto progress = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  StagingDir staging(options.out, options.force);
  const std::filesystem::path& dir = staging.path();

  progress("reading Fashion-MNIST from " + options.fashion_dir.string());
  const FashionSplit train = read_fashion_split(options.fashion_dir, "train");
  const FashionSplit test = read_fashion_split(options.fashion_dir, "t10k");
  const WordNet wordnet(options.wordnet_dir);
  const Phrasings phrasings = class_phrasings(wordnet);

  OrderedJson files = OrderedJson::object();
  BuildSummary summary;
  progress("writing the classification images");
  const auto train_subset = choose_subset(train.count, preset.classification_train, stream_rng(options.seed, Stream::kClassifyTrain));
  const auto test_subset = choose_subset(test.count, preset.classification_test, stream_rng(options.seed, Stream::kClassifyTest));
  files.update(write_classification(dir, "train", train, train_subset));
  files.update(write_classification(dir, "test", test, test_subset));
  summary.classification_train = static_cast<std::int64_t>(train_subset.size());
  summary.classification_test = static_cast<std::int64_t>(test_subset.size());

  progress("composing the scenes");
  auto scene_rng = stream_rng(options.seed, Stream::kScenesTrain);
  const auto train_scenes = sample_scenes(preset.scenes_train, class_pools(train.labels), scene_rng);
  scene_rng = stream_rng(options.seed, Stream::kScenesTest);
  const auto test_scenes = sample_scenes(preset.scenes_test, class_pools(test.labels), scene_rng);
  files.update(write_scenes(dir, "train", train_scenes, train));
  files.update(write_scenes(dir, "test", test_scenes, test));
  const auto pool = retrieval_pool(test_scenes, preset.retrieval_pool);
  files["retrieval_pool"] = write_array(dir, kRetrievalPoolFile, {static_cast<std::int64_t>(pool.size())}, pool);
  summary.scenes_train = preset.scenes_train;
  summary.scenes_test = preset.scenes_test;
  summary.retrieval_pool = static_cast<std::int64_t>(pool.size());

  progress("writing captions, questions and matching pairs");
  auto text_rng = stream_rng(options.seed, Stream::kTextTrain);
  SplitText train_text = generate_split_text(train_scenes, Split::kTrain, false, preset.questions_per_type, phrasings, text_rng);
  text_rng = stream_rng(options.seed, Stream::kTextTest);
  SplitText test_text = generate_split_text(test_scenes, Split::kTest, true, preset.questions_per_type, phrasings, text_rng);

  // Global ids: train records first, then test (a pair's caption id moves with its captions).
  std::vector<Caption> captions = std::move(train_text.captions);
  std::vector<Question> questions = std::move(train_text.questions);
  std::vector<MatchingPair> pairs = std::move(train_text.pairs);
  const auto caption_offset = static_cast<std::int64_t>(captions.size());
  for (Caption& c : test_text.captions) captions.push_back(std::move(c));
  for (Question& q : test_text.questions) questions.push_back(std::move(q));
  for (MatchingPair& p : test_text.pairs) {
    p.caption += caption_offset;
    pairs.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < captions.size(); ++i) captions[i].id = static_cast<std::int64_t>(i);
  for (std::size_t i = 0; i < questions.size(); ++i) questions[i].id = static_cast<std::int64_t>(i);
  for (std::size_t i = 0; i < pairs.size(); ++i) pairs[i].id = static_cast<std::int64_t>(i);
  UtteranceTable utterances;
  for (const std::string_view word : kClassWords) utterances.add(std::string(word), UtteranceKind::kWord, Split::kTrain);
  for (const Split split : {Split::kTrain, Split::kTest}) {
    for (Caption& c : captions)
      if (c.split == split) c.utterance = utterances.add(c.text, UtteranceKind::kCaption, split);
    for (Question& q : questions)
      if (q.split == split) q.utterance = utterances.add(q.text, UtteranceKind::kQuestion, split);
  }

  files.update(write_records(dir, captions, questions, pairs, utterances.list()));
  summary.captions = static_cast<std::int64_t>(captions.size());
  summary.questions = static_cast<std::int64_t>(questions.size());
  summary.pairs = static_cast<std::int64_t>(pairs.size());
  summary.utterances = static_cast<std::int64_t>(utterances.list().size());
  summary.heldout_captions = std::count_if(captions.begin(), captions.end(), [](const Caption& c) { return c.heldout; });
  summary.heldout_questions = std::count_if(questions.begin(), questions.end(), [](const Question& q) { return q.heldout; });

  progress("training the tokenizer");
  train_text_tokenizer(dir, captions, questions, phrasings, options.seed);
  files["tokenizer"] = OrderedJson{{"file", kTokenizerFile}, {"vocab_size", kTokenizerVocabSize}};
  summary.tokenizer_vocab = kTokenizerVocabSize;

  progress("speaking the utterances (the spoken set, docs/multimodal.md Audio)");
  audio::SpokenSetOptions spoken = spoken_set_options(preset);
  spoken.seed = options.seed;
  std::int64_t reported_tenths = -1;
  spoken.progress = [&](const audio::SpokenSetProgress& p) {
    const std::int64_t tenths = p.clips_total > 0 ? p.clips_done * 10 / p.clips_total : 10;
    if (tenths == reported_tenths) return;
    reported_tenths = tenths;
    progress(fmt::format("  {} / {} clips, {:.0f} s", p.clips_done, p.clips_total, p.seconds));
  };
  const audio::SpokenSetStats spoken_stats = audio::build_spoken_set(dir, spoken);
  files["audio"] = OrderedJson{{"dir", "audio"}, {"clips", spoken_stats.clips}, {"frames", spoken_stats.frames}};
  summary.clips = spoken_stats.clips;
  summary.audio_seconds = spoken_stats.audio_seconds;

  OrderedJson manifest;
  manifest["format"] = kFormatName;
  manifest["format_version"] = kFormatVersion;
  manifest["seed"] = options.seed;
  manifest["size"] = preset.name;
  manifest["class_names"] = kClassNames;
  manifest["class_words"] = kClassWords;
  manifest["positions"] = kPositionNames;
  manifest["question_types"] = kQuestionTypeNames;
  manifest["answers"] = answer_vocabulary();
  OrderedJson phrasing_list = OrderedJson::array();
  for (int c = 0; c < kClassCount; ++c)
    phrasing_list.push_back({{"class", c}, {"base", phrasings[c].base}, {"train_synonyms", phrasings[c].train_synonyms},
                             {"heldout_synonyms", phrasings[c].heldout_synonyms}, {"gloss", phrasings[c].gloss}});
  manifest["phrasings"] = phrasing_list;
  manifest["counts"] = {{"classification_train", summary.classification_train},
                        {"classification_test", summary.classification_test},
                        {"scenes_train", summary.scenes_train},
                        {"scenes_test", summary.scenes_test},
                        {"retrieval_pool", summary.retrieval_pool},
                        {"captions", summary.captions},
                        {"heldout_captions", summary.heldout_captions},
                        {"questions", summary.questions},
                        {"heldout_questions", summary.heldout_questions},
                        {"pairs", summary.pairs},
                        {"utterances", summary.utterances}};
  manifest["answer_counts"] = {{"train", counts_by_answer(questions, Split::kTrain, false)},
                               {"test", counts_by_answer(questions, Split::kTest, false)},
                               {"test_heldout", counts_by_answer(questions, Split::kTest, true)}};
  manifest["files"] = files;
  core::write_file_atomically(dir / kManifestFile, manifest.dump(2) + "\n");
  summary.bytes = directory_bytes(dir);
  staging.publish();
  return summary;
}

}  // namespace sieve::data::trifashion
