// The spoken set: built from a 5-utterance fixture, deterministic, held-out voices disjoint from
// training voices, reused as a cache, and refused by the reader when damaged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/audio/log_mel.h"
#include "sieve/data/audio/spoken_set.h"
#include "sieve/data/audio/utterances.h"

namespace sieve::data::audio {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

const std::vector<Utterance> kFixture = {
    {3, "sandal", UtteranceKind::word, false},
    {5, "bag", UtteranceKind::word, false},
    {8, "pullover", UtteranceKind::word, true},  // a held-out phrasing
    {13, "a bag top-left and a shirt bottom-right", UtteranceKind::caption, false},
    {21, "what is top-left", UtteranceKind::question, true}};

SpokenSetOptions tiny_options() {
  SpokenSetOptions o;
  o.train_voices = 6;
  o.test_voices = 3;
  o.held_out_variants = 4;
  o.train_voices_per_word = 3;
  o.test_voices_per_word = 2;
  o.festival_voices_per_word = 1;
  o.noise_fraction = 0.5;
  o.example_wavs = 2;
  o.seed = 7;
  return o;
}

// Every file of the built set, by name.
std::map<std::string, std::string> snapshot(const fs::path& data_dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(data_dir / "audio"))
    if (entry.is_regular_file()) files[fs::relative(entry.path(), data_dir).string()] = read_file(entry.path());
  return files;
}

std::string user_error_of_load(const fs::path& data_dir) {
  try {
    load_spoken_set(data_dir);
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no core::UserError";
  return "";
}

class SpokenSetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    write_utterances(data() / "utterances.jsonl", kFixture);
    SpokenSetOptions options = tiny_options();
    options.workers = 2;
    stats_ = build_spoken_set(data(), options);
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path data() { return dir_->path(); }

  static TempDir* dir_;
  static SpokenSetStats stats_;
};

TempDir* SpokenSetTest::dir_ = nullptr;
SpokenSetStats SpokenSetTest::stats_;

TEST_F(SpokenSetTest, HasTheClipsTheOptionsAskFor) {
  const SpokenSet set = load_spoken_set(data());
  // Train words: 3 train + 2 test + 1 festival voices; the test word: 2 + 1; one clip per sentence.
  ASSERT_EQ(set.clips.size(), 2u * 6 + 3 + 1 + 1);
  EXPECT_EQ(stats_.clips, 17);
  EXPECT_FALSE(stats_.reused);
  EXPECT_EQ(stats_.frames, set.total_frames);
  std::map<std::int64_t, std::map<ClipSplit, int>> per_utterance;
  int noisy = 0;
  for (const SpokenClip& c : set.clips) {
    ++per_utterance[c.utterance_id][c.split];
    noisy += c.noisy;
    if (c.noisy) {
      EXPECT_GE(c.snr_db, 5.0f);
      EXPECT_LE(c.snr_db, 30.0f);
    }
    EXPECT_EQ(set.features(&c - set.clips.data()).size(), static_cast<std::size_t>(c.frames) * 80);
  }
  EXPECT_EQ(per_utterance[3], (std::map<ClipSplit, int>{{ClipSplit::train, 3}, {ClipSplit::test, 2}, {ClipSplit::test_festival, 1}}));
  EXPECT_EQ(per_utterance[8], (std::map<ClipSplit, int>{{ClipSplit::test, 2}, {ClipSplit::test_festival, 1}}));
  EXPECT_EQ(per_utterance[13], (std::map<ClipSplit, int>{{ClipSplit::train, 1}}));
  EXPECT_EQ(per_utterance[21], (std::map<ClipSplit, int>{{ClipSplit::test, 1}}));
  EXPECT_GT(noisy, 0);
  EXPECT_LT(noisy, 17);
  // Clips follow the utterance list's order.
  std::vector<std::int64_t> order;
  for (const SpokenClip& c : set.clips)
    if (order.empty() || order.back() != c.utterance_id) order.push_back(c.utterance_id);
  EXPECT_EQ(order, (std::vector<std::int64_t>{3, 5, 8, 13, 21}));
  EXPECT_EQ(set.clips.back().kind, UtteranceKind::question);
  EXPECT_TRUE(fs::exists(data() / "audio" / "wav" / "clip-000000.wav"));
}

TEST_F(SpokenSetTest, HeldOutVoicesNeverSpeakInTraining) {
  const SpokenSet set = load_spoken_set(data());
  EXPECT_EQ(set.voices.size(), 6u + 3u + 9u);
  ASSERT_EQ(set.held_out_variants.size(), 4u);
  const std::set<std::string> held(set.held_out_variants.begin(), set.held_out_variants.end());
  std::set<std::int32_t> train_voices, test_voices;
  for (const SpokenClip& c : set.clips) {
    const SpokenVoice& v = set.voices[c.voice];
    EXPECT_EQ(v.split, c.split);
    if (c.split == ClipSplit::train) {
      train_voices.insert(c.voice);
      EXPECT_FALSE(held.count(v.voice.variant)) << voice_name(v.voice);
      EXPECT_EQ(v.voice.engine, Engine::espeak_ng);
    } else {
      test_voices.insert(c.voice);
      if (c.split == ClipSplit::test) {
        EXPECT_TRUE(held.count(v.voice.variant)) << voice_name(v.voice);
      } else {
        EXPECT_EQ(v.voice.engine, Engine::festival);
      }
    }
  }
  for (const auto v : train_voices) EXPECT_FALSE(test_voices.count(v));
  // Whole speakers are held out: no test variant appears in the training pool at all.
  for (const SpokenVoice& v : set.voices) {
    if (v.split == ClipSplit::train) {
      EXPECT_FALSE(held.count(v.voice.variant));
    }
  }
}

TEST_F(SpokenSetTest, FeaturesAreTheLogMelOfTheSynthesisedClip) {
  const SpokenSet set = load_spoken_set(data());
  for (std::size_t i = 0; i < set.clips.size(); ++i) {
    const SpokenClip& c = set.clips[i];
    if (c.noisy) continue;
    const auto text = std::find_if(kFixture.begin(), kFixture.end(), [&](const Utterance& u) { return u.id == c.utterance_id; })->text;
    const std::vector<float> samples = synthesize(text, set.voices[c.voice].voice);
    EXPECT_EQ(static_cast<std::int32_t>(samples.size()), c.samples);
    const std::vector<float> expected = LogMel(set.features_options).compute(samples);
    const auto stored = set.features(i);
    EXPECT_TRUE(std::equal(stored.begin(), stored.end(), expected.begin(), expected.end())) << "clip " << i;
    return;  // one clean clip is enough
  }
  FAIL() << "no clean clip";
}

TEST_F(SpokenSetTest, IsByteIdenticalForASeedWhateverTheWorkers) {
  const TempDir other;
  write_utterances(other / "utterances.jsonl", kFixture);
  SpokenSetOptions options = tiny_options();
  options.workers = 1;
  build_spoken_set(other.path(), options);
  EXPECT_EQ(snapshot(other.path()), snapshot(data()));

  const TempDir reseeded;
  write_utterances(reseeded / "utterances.jsonl", kFixture);
  options.seed = 8;
  build_spoken_set(reseeded.path(), options);
  EXPECT_NE(read_file(reseeded / "audio" / "log_mel.bin"), read_file(data() / "audio" / "log_mel.bin"));
}

TEST_F(SpokenSetTest, ReusesTheFeaturesWhenNothingChanged) {
  const TempDir copy;
  fs::copy(data(), copy.path(), fs::copy_options::recursive);
  const auto before = snapshot(copy.path());
  SpokenSetOptions options = tiny_options();
  options.workers = 3;  // not part of the output
  int reports = 0;
  options.progress = [&](const SpokenSetProgress&) { ++reports; };
  const SpokenSetStats again = build_spoken_set(copy.path(), options);
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(reports, 0);
  EXPECT_EQ(again.clips, 17);
  EXPECT_EQ(snapshot(copy.path()), before);

  // Another option, or a damaged file, builds it again.
  options.noise_fraction = 0.0;
  const SpokenSetStats rebuilt = build_spoken_set(copy.path(), options);
  EXPECT_FALSE(rebuilt.reused);
  EXPECT_GT(reports, 0);
  for (const SpokenClip& c : load_spoken_set(copy.path()).clips) EXPECT_FALSE(c.noisy);
  write_file(copy / "audio" / "log_mel.bin", "SIEVEMEL");
  EXPECT_FALSE(build_spoken_set(copy.path(), options).reused);
  EXPECT_NO_THROW(load_spoken_set(copy.path()));
}

class DamagedSpokenSet : public SpokenSetTest {
 protected:
  void SetUp() override { fs::copy(data(), copy_.path(), fs::copy_options::recursive); }
  fs::path file(const std::string& name) const { return copy_ / "audio" / name; }
  // Overwrites `bytes` at `offset` of a file of the set.
  void patch(const std::string& name, std::size_t offset, const std::string& bytes) const {
    std::string content = read_file(file(name));
    ASSERT_LE(offset + bytes.size(), content.size());
    content.replace(offset, bytes.size(), bytes);
    write_file(file(name), content);
  }
  void expect_refused(const std::string& words) const {
    const std::string message = user_error_of_load(copy_.path());
    EXPECT_NE(message.find(words), std::string::npos) << message;
  }
  TempDir copy_;
};

template <typename T>
std::string bytes_of(T value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(T));
}

TEST_F(DamagedSpokenSet, TruncatedFeatures) {
  const std::string content = read_file(file("log_mel.bin"));
  write_file(file("log_mel.bin"), content.substr(0, content.size() - 4));
  expect_refused("truncated or damaged");
}

TEST_F(DamagedSpokenSet, FeatureHeaderPromisingMore) {
  patch("log_mel.bin", 16, bytes_of<std::uint64_t>(1ull << 40));
  expect_refused("log_mel.bin");
}

TEST_F(DamagedSpokenSet, WrongMagic) {
  patch("log_mel.bin", 0, "SIEVETOK");
  expect_refused("not a spoken-set file");
}

TEST_F(DamagedSpokenSet, NonFiniteFeature) {
  patch("log_mel.bin", 32 + 4 * 100, bytes_of(std::nanf("")));
  expect_refused("not finite");
}

TEST_F(DamagedSpokenSet, ClipCountPromisingMore) {
  patch("clips.bin", 16, bytes_of<std::uint64_t>(1ull << 60));
  expect_refused("promises");
}

TEST_F(DamagedSpokenSet, ClipWithAnUnknownVoice) {
  patch("clips.bin", 32 + 24, bytes_of<std::uint32_t>(1000));
  expect_refused("voice 1000");
}

TEST_F(DamagedSpokenSet, ClipOfATestVoiceMarkedTrain) {
  // Clip 3 of utterance 3 is its first test clip.
  patch("clips.bin", 32 + 3 * 40 + 28, std::string(1, '\0'));
  expect_refused("split");
}

TEST_F(DamagedSpokenSet, ClipsThatOverlap) {
  patch("clips.bin", 32 + 40 + 8, bytes_of<std::uint64_t>(0));
  expect_refused("starts at frame 0");
}

TEST_F(DamagedSpokenSet, ChangedUtterances) {
  write_file(copy_ / "utterances.jsonl", read_file(copy_ / "utterances.jsonl") + "{\"id\": 99, \"text\": \"coat\", \"kind\": \"word\", \"split\": \"train\"}\n");
  expect_refused("built from another");
}

TEST_F(DamagedSpokenSet, MissingManifest) {
  fs::remove(file("manifest.json"));
  expect_refused("no finished spoken set");
}

TEST_F(DamagedSpokenSet, BadVoiceList) {
  write_file(file("voices.json"), "{\"format\": 1, \"held_out_variants\": [], \"voices\": [{\"id\": 0}]}");
  expect_refused("voices.json");
}

TEST(AudioUtterances, MalformedListsAreUserErrorsNamingTheLine) {
  const TempDir dir;
  const auto error_of = [&](const std::string& text) -> std::string {
    write_file(dir / "u.jsonl", text);
    try {
      read_utterances(dir / "u.jsonl");
    } catch (const core::UserError& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string ok = R"({"id": 1, "text": "bag", "kind": "word", "split": "train"})";
  EXPECT_EQ(error_of(ok + "\n\n" + R"({"id": 2, "text": "a bag", "kind": "caption", "split": "test", "extra": 1})"), "no error");
  EXPECT_NE(error_of(ok + "\n{not json").find("u.jsonl:2"), std::string::npos);
  EXPECT_NE(error_of(ok + "\n" + ok).find("appears twice"), std::string::npos);
  EXPECT_NE(error_of(R"({"id": 1, "text": "bag", "kind": "song", "split": "train"})").find("song"), std::string::npos);
  EXPECT_NE(error_of(R"({"id": 1, "text": "bag", "kind": "word", "split": "dev"})").find("dev"), std::string::npos);
  EXPECT_NE(error_of(R"({"id": "1", "text": "bag", "kind": "word", "split": "train"})").find("\"id\""), std::string::npos);
  EXPECT_NE(error_of(R"({"id": 1, "text": " ", "kind": "word", "split": "train"})").find("empty"), std::string::npos);
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_THROW(read_utterances(dir / "absent.jsonl"), core::UserError);
}

TEST(AudioSpokenSetOptions, ImpossibleOptionsAreUserErrors) {
  const TempDir dir;
  write_utterances(dir / "utterances.jsonl", kFixture);
  SpokenSetOptions more_than_pool = tiny_options();
  more_than_pool.train_voices_per_word = 7;
  EXPECT_THROW(build_spoken_set(dir.path(), more_than_pool), core::UserError);
  SpokenSetOptions no_train_variants = tiny_options();
  no_train_variants.held_out_variants = static_cast<int>(espeak_variants().size());
  EXPECT_THROW(build_spoken_set(dir.path(), no_train_variants), core::UserError);
  SpokenSetOptions bad_noise = tiny_options();
  bad_noise.snr_db_min = 40;
  EXPECT_THROW(build_spoken_set(dir.path(), bad_noise), core::UserError);
  SpokenSetOptions missing_engine = tiny_options();
  missing_engine.programs.espeak_ng = "sieve-no-such-speech-engine";
  EXPECT_THROW(build_spoken_set(dir.path(), missing_engine), core::UserError);
  EXPECT_FALSE(fs::exists(dir / "audio" / "manifest.json"));
}

}  // namespace
}  // namespace sieve::data::audio
