// The trifashion builder and reader on the `tiny` size (about a second per build), from Debian's
// Fashion-MNIST and WordNet (installed by scripts/install-deps.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/idx_file.h"
#include "sieve/data/tokenizer.h"
#include "sieve/data/trifashion/builder.h"
#include "sieve/data/trifashion/dataset.h"
#include "sieve/data/trifashion/text.h"

namespace sieve::data::trifashion {
namespace {

using data::testing::read_file;
using data::testing::TempDir;
using data::testing::write_file;

bool sources_installed() {
  return std::filesystem::exists(std::filesystem::path(kDefaultFashionDir) / "train-labels-idx1-ubyte.gz") &&
         std::filesystem::exists(std::filesystem::path(kDefaultWordNetDir) / "index.noun");
}

#define SKIP_WITHOUT_SOURCES() \
  if (!sources_installed()) GTEST_SKIP() << "dataset-fashion-mnist or wordnet-base is not installed"

std::filesystem::path build_tiny(const std::filesystem::path& out, std::uint64_t seed) {
  BuildOptions options;
  options.out = out;
  options.size = "tiny";
  options.seed = seed;
  build(options);
  return out;
}

// One tiny build (seed 7) shared by the tests that only read it.
const std::filesystem::path& shared_build() {
  static const TempDir dir;
  static const std::filesystem::path path = build_tiny(dir / "tiny", 7);
  return path;
}

const Dataset& shared_dataset() {
  static const Dataset dataset = load(shared_build());
  return dataset;
}

// Every file under `dir` by its relative path ("manifest.json", "audio/log_mel.bin").
std::map<std::string, std::string> directory_contents(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) files[entry.path().lexically_relative(dir).string()] = read_file(entry.path());
  return files;
}

TEST(Trifashion, SameSeedGivesIdenticalFilesAndAnotherSeedDoesNot) {
  SKIP_WITHOUT_SOURCES();
  TempDir dir;
  const auto first = directory_contents(shared_build());
  const auto again = directory_contents(build_tiny(dir / "again", 7));
  const auto other = directory_contents(build_tiny(dir / "other", 8));
  const auto top_level = std::count_if(first.begin(), first.end(), [](const auto& f) { return f.first.find('/') == std::string::npos; });
  EXPECT_EQ(top_level, 17);
  EXPECT_TRUE(first.contains("audio/manifest.json") && first.contains("audio/log_mel.bin")) << "the spoken set is missing";
  ASSERT_EQ(again.size(), first.size());
  for (const auto& [name, bytes] : first) EXPECT_TRUE(again.at(name) == bytes) << name << " differs for the same seed";
  for (const char* name :
       {"scenes_train_items.bin", "scenes_test_images.bin", "captions.jsonl", "questions.jsonl", "audio/log_mel.bin"})
    EXPECT_FALSE(other.at(name) == first.at(name)) << name << " is the same for another seed";
}

TEST(Trifashion, ReaderReturnsWhatTheManifestPromises) {
  SKIP_WITHOUT_SOURCES();
  const Dataset& data = shared_dataset();
  const SizePreset& tiny = size_preset("tiny");
  EXPECT_EQ(data.seed, 7u);
  EXPECT_EQ(data.size, "tiny");
  EXPECT_EQ(data.train.classification.images.count, tiny.classification_train);
  EXPECT_EQ(data.test.classification.images.count, tiny.classification_test);
  EXPECT_EQ(data.train.scenes.images.count, tiny.scenes_train);
  EXPECT_EQ(data.test.scenes.images.height, 56);
  EXPECT_EQ(static_cast<std::int64_t>(data.retrieval_pool.size()), tiny.retrieval_pool);
  EXPECT_EQ(data.class_words[5], "sandal");
  // Every scene has both full-caption and partial-caption text; the test split also held-out text.
  EXPECT_EQ(static_cast<std::int64_t>(data.train.captions.size()), 2 * tiny.scenes_train);
  EXPECT_EQ(static_cast<std::int64_t>(data.test.captions.size()), 3 * tiny.scenes_test);
  EXPECT_TRUE(std::none_of(data.train.captions.begin(), data.train.captions.end(), [](const Caption& c) { return c.heldout; }));
  // Ten words first, then every caption and question points at an utterance with its text.
  for (int c = 0; c < kClassCount; ++c) {
    EXPECT_EQ(data.utterances[c].text, data.class_words[c]);
    EXPECT_EQ(data.utterances[c].kind, UtteranceKind::kWord);
  }
  for (const SplitData* split : {&data.train, &data.test}) {
    for (const Caption& c : split->captions) ASSERT_EQ(data.utterances[c.utterance].text, c.text);
    for (const Question& q : split->questions) ASSERT_EQ(data.utterances[q.utterance].text, q.text);
  }
  const Tokenizer tokenizer = Tokenizer::load(data.tokenizer_model);
  EXPECT_EQ(tokenizer.vocab_size(), 512);
}

TEST(Trifashion, CaptionsQuestionsAndPairsAreTrueOfTheirScenes) {
  SKIP_WITHOUT_SOURCES();
  const Dataset& data = shared_dataset();
  for (const SplitData* split : {&data.train, &data.test}) {
    const auto& items = split->scenes.items;
    for (const Caption& c : split->captions)
      for (const Claim& claim : c.items) ASSERT_EQ(items[c.scene][claim.position].cls, claim.cls) << c.text;
    for (const Question& q : split->questions) {
      const auto& scene = items[q.scene];
      const auto count = [&](int cls) { return std::count_if(scene.begin(), scene.end(), [&](const SceneItem& i) { return i.cls == cls; }); };
      if (q.type == QuestionType::kCount) {
        const int n = q.answer - count_answer(0);
        EXPECT_TRUE(n == 0 || std::any_of(scene.begin(), scene.end(), [&](const SceneItem& i) { return count(i.cls) == n; })) << q.text;
      } else if (q.type == QuestionType::kWhere) {
        EXPECT_EQ(count(scene[q.answer - position_answer(0)].cls), 1) << q.text;  // unambiguous
      }
    }
    std::int64_t positives = 0;
    for (const MatchingPair& p : split->pairs) positives += p.match;
    EXPECT_EQ(2 * positives, static_cast<std::int64_t>(split->pairs.size()));
  }
}

// NOTE [Answer balance] in text.h: within a type no answer leads the rarest by more than
// kAnswerSlack + 1.
TEST(Trifashion, AnswersAreBalancedWithinEachType) {
  SKIP_WITHOUT_SOURCES();
  const Dataset& data = shared_dataset();
  for (const SplitData* split : {&data.train, &data.test})
    for (const bool heldout : {false, true}) {
      for (int t = 0; t < kQuestionTypeCount; ++t) {
        std::map<int, std::int64_t> counts;
        for (const int a : answers_of_type(static_cast<QuestionType>(t))) counts[a] = 0;
        std::int64_t total = 0;
        for (const Question& q : split->questions)
          if (q.heldout == heldout && static_cast<int>(q.type) == t) {
            ++counts.at(q.answer);
            ++total;
          }
        if (total == 0) continue;  // the train split has no held-out text; "what" has no held-out form
        const auto [low, high] = std::minmax_element(counts.begin(), counts.end(),
                                                     [](const auto& a, const auto& b) { return a.second < b.second; });
        EXPECT_GT(low->second, 0) << kQuestionTypeNames[t];
        EXPECT_LE(high->second - low->second, kAnswerSlack + 1) << kQuestionTypeNames[t] << (heldout ? " held-out" : "");
      }
    }
}

TEST(Trifashion, TrainScenesUseOnlyTrainImagesAndTestScenesOnlyTestImages) {
  SKIP_WITHOUT_SOURCES();
  const Dataset& data = shared_dataset();
  const std::filesystem::path fashion = kDefaultFashionDir;
  for (const auto& [split, prefix] : {std::pair{&data.train, "train"}, std::pair{&data.test, "t10k"}}) {
    const IdxArray images = read_idx_file(fashion / (std::string(prefix) + "-images-idx3-ubyte.gz"), 3);
    const IdxArray labels = read_idx_file(fashion / (std::string(prefix) + "-labels-idx1-ubyte.gz"), 1);
    const SceneSet& scenes = split->scenes;
    for (std::int64_t s = 0; s < scenes.images.count; ++s)
      for (int p = 0; p < kPositionCount; ++p) {
        const SceneItem item = scenes.items[s][p];
        ASSERT_EQ(labels.data[item.source], item.cls);
        for (int r = 0; r < kItemSide; ++r)
          ASSERT_TRUE(std::equal(images.data.begin() + (item.source * kItemSide + r) * kItemSide,
                                 images.data.begin() + (item.source * kItemSide + r + 1) * kItemSide,
                                 scenes.images.image(s) + ((p / 2) * kItemSide + r) * kSceneSide + (p % 2) * kItemSide))
              << prefix << " scene " << s << " cell " << p << " is not " << prefix << " image " << item.source;
      }
    const ClassificationSet& classification = split->classification;
    for (std::int64_t i = 0; i < classification.images.count; ++i)
      ASSERT_EQ(labels.data[classification.sources[i]], classification.labels[i]);
  }
}

// NOTE [Held-out phrasings] in phrasing.h.
TEST(Trifashion, HeldOutPhrasingsNeverAppearInTrainingText) {
  SKIP_WITHOUT_SOURCES();
  const Dataset& data = shared_dataset();
  const Phrasings phrasings = class_phrasings(WordNet());
  std::vector<std::string> heldout;
  for (const ClassPhrasings& p : phrasings) {
    // A gloss appears with its article ("is there a shoe ...") or after "the" ("where is the shoe ...").
    heldout.push_back(p.gloss.substr(p.gloss.starts_with("a ") ? 2 : p.gloss.starts_with("an ") ? 3 : 0));
    heldout.insert(heldout.end(), p.heldout_synonyms.begin(), p.heldout_synonyms.end());
  }
  EXPECT_EQ(phrasings[7].heldout_synonyms, std::vector<std::string>{"tennis shoe"});
  EXPECT_EQ(phrasings[7].train_synonyms, std::vector<std::string>{"gym shoe"});
  const auto mentions_heldout = [&](const std::string& text) {
    return std::any_of(heldout.begin(), heldout.end(), [&](const std::string& h) { return text.find(h) != std::string::npos; });
  };
  for (const Caption& c : data.train.captions) ASSERT_FALSE(mentions_heldout(c.text)) << c.text;
  for (const Question& q : data.train.questions) ASSERT_FALSE(mentions_heldout(q.text)) << q.text;
  for (const Caption& c : data.test.captions) EXPECT_EQ(c.heldout, mentions_heldout(c.text)) << c.text;
  std::int64_t heldout_questions = 0;
  for (const Question& q : data.test.questions) {
    EXPECT_EQ(q.heldout, mentions_heldout(q.text)) << q.text;
    heldout_questions += q.heldout;
  }
  EXPECT_GT(heldout_questions, 0);
  // Matching pairs of either label carry the held-out phrasing exactly when they are held out.
  for (const MatchingPair& p : data.test.pairs) EXPECT_EQ(p.heldout, mentions_heldout(p.text)) << p.text;
  for (const MatchingPair& p : data.train.pairs) ASSERT_FALSE(mentions_heldout(p.text)) << p.text;
}

// Copies the shared build, lets `damage` change it, and returns load's error message.
template <typename Damage>
std::string load_error_after(Damage damage) {
  TempDir dir;
  std::filesystem::copy(shared_build(), dir / "d", std::filesystem::copy_options::recursive);
  damage(dir / "d");
  try {
    load(dir / "d");
  } catch (const core::UserError& e) {
    return e.what();
  }
  return "(loaded without an error)";
}

TEST(Trifashion, ReaderRejectsDamagedFiles) {
  SKIP_WITHOUT_SOURCES();
  const auto truncate = [](const std::filesystem::path& file) {
    std::filesystem::resize_file(file, std::filesystem::file_size(file) - 1);
  };
  const auto patch = [](const std::filesystem::path& file, std::size_t at, char byte) {
    std::string bytes = read_file(file);
    bytes[at] = byte;
    write_file(file, bytes);
  };
  const auto replace_text = [](const std::filesystem::path& file, const std::string& from, const std::string& to) {
    std::string text = read_file(file);
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    write_file(file, text);
  };
  std::string message = load_error_after([&](const auto& d) { truncate(d / "scenes_train_images.bin"); });
  EXPECT_NE(message.find("scenes_train_images.bin"), std::string::npos) << message;
  message = load_error_after([&](const auto& d) { patch(d / "classify_test_labels.bin", 0, 'X'); });
  EXPECT_NE(message.find("not a Sieve array file"), std::string::npos) << message;
  // Wrong dims: the scene images claim 57 rows (and are then too short for it).
  message = load_error_after([&](const auto& d) { patch(d / "scenes_test_images.bin", 24 + 8, 57); });
  EXPECT_NE(message.find("scenes_test_images.bin"), std::string::npos) << message;
  // A label outside 0..9 (the first label byte follows a 32-byte header).
  message = load_error_after([&](const auto& d) { patch(d / "classify_train_labels.bin", 32, 10); });
  EXPECT_NE(message.find("is not a class"), std::string::npos) << message;
  message = load_error_after([&](const auto& d) { replace_text(d / "manifest.json", "\"format_version\": 1", "\"format_version\": 9"); });
  EXPECT_NE(message.find("format version 9"), std::string::npos) << message;
  message = load_error_after([&](const auto& d) { replace_text(d / "questions.jsonl", "\"answer\":\"yes\"", "\"answer\":\"no\""); });
  EXPECT_NE(message.find("questions.jsonl' line"), std::string::npos) << message;
  message = load_error_after([&](const auto& d) { replace_text(d / "captions.jsonl", "\"scene\":0,", "\"scene\":100000,"); });
  EXPECT_NE(message.find("captions.jsonl' line 1"), std::string::npos) << message;
  message = load_error_after([&](const auto& d) { std::filesystem::remove(d / "pairs.jsonl"); });
  EXPECT_NE(message.find("pairs.jsonl"), std::string::npos) << message;
  message = load_error_after([&](const auto& d) { truncate(d / "utterances.jsonl"); truncate(d / "utterances.jsonl"); });
  EXPECT_NE(message.find("utterances.jsonl"), std::string::npos) << message;
}

TEST(Trifashion, BuildRefusesANonEmptyDirectoryAndReportsBadSources) {
  SKIP_WITHOUT_SOURCES();
  TempDir dir;
  write_file(dir / "keep.txt", "mine");
  BuildOptions options;
  options.out = dir.path();
  options.size = "tiny";
  EXPECT_THROW(build(options), core::UserError);
  EXPECT_EQ(read_file(dir / "keep.txt"), "mine");
  options.out = dir / "new";
  options.fashion_dir = dir.path();  // no IDX files there
  try {
    build(options);
    FAIL() << "expected a core::UserError";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte.gz"), std::string::npos) << e.what();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.txt"});  // nothing half-built left behind
  options.size = "huge";
  EXPECT_THROW(build(options), core::UserError);
}

}  // namespace
}  // namespace sieve::data::trifashion
