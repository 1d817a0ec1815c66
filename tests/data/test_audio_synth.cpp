// Speech synthesis through espeak-ng + sox and festival, run as separate processes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "data_test_util.h"
#include "sieve/core/error.h"
#include "sieve/data/audio/process_pipeline.h"
#include "sieve/data/audio/speech_synth.h"

namespace sieve::data::audio {
namespace {

using testing::TempDir;

double rms(const std::vector<float>& samples) {
  double sum = 0.0;
  for (const float s : samples) sum += static_cast<double>(s) * s;
  return std::sqrt(sum / static_cast<double>(samples.size()));
}

// A message check: the error names what failed.
template <typename F>
std::string user_error_of(F&& f) {
  try {
    f();
  } catch (const core::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no core::UserError";
  return "";
}

TEST(AudioSynth, EspeakSpeaksAtSixteenKilohertzDeterministically) {
  const Voice voice{Engine::espeak_ng, "en-us", "f3", 160, 55};
  const auto first = synthesize("a sandal and a bag", voice);
  const auto second = synthesize("a sandal and a bag", voice);
  // About a second of speech at 16 kHz, audible, in range, and the same samples both times.
  EXPECT_GT(first.size(), 8000u);
  EXPECT_LT(first.size(), 48000u);
  EXPECT_GT(rms(first), 0.01);
  for (const float s : first) ASSERT_TRUE(s >= -1.0f && s <= 1.0f);
  EXPECT_EQ(first, second);
}

TEST(AudioSynth, VoiceParametersChangeTheAudio) {
  const Voice base{Engine::espeak_ng, "en", "m3", 175, 50};
  const auto reference = synthesize("trouser", base);
  Voice slower = base;
  slower.speed = 120;
  Voice higher = base;
  higher.pitch = 80;
  Voice other = base;
  other.variant = "f2";
  EXPECT_GT(synthesize("trouser", slower).size(), reference.size());  // slower speech is longer
  EXPECT_NE(synthesize("trouser", higher), reference);
  EXPECT_NE(synthesize("trouser", other), reference);
}

TEST(AudioSynth, EveryAccentTakesAVariant) {
  // espeak-ng ignores the variant of some voice names (en-gb+m3 sounds like en-gb+f2); each accent
  // in the list must not.
  for (const std::string& accent : espeak_accents()) {
    SCOPED_TRACE(accent);
    EXPECT_NE(synthesize("bag", Voice{Engine::espeak_ng, accent, "m3", 175, 50}),
              synthesize("bag", Voice{Engine::espeak_ng, accent, "f2", 175, 50}));
  }
}

TEST(AudioSynth, TextCannotBeReadAsAnOptionOrCommand) {
  // Text goes to stdin: an option-like or shell-like text is spoken, not obeyed.
  const TempDir dir;
  const std::string marker = (dir / "pwned").string();
  const auto samples = synthesize("--version; touch " + marker + " $(touch " + marker + ")",
                                  Voice{Engine::espeak_ng, "en-us", "", 175, 50});
  EXPECT_GT(samples.size(), 16000u);
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(AudioSynth, FestivalSpeaksDeterministically) {
  const Voice voice{Engine::festival, "kal_diphone", "", 100, 105};
  const auto first = synthesize("a sandal", voice);
  EXPECT_GT(first.size(), 4000u);
  EXPECT_GT(rms(first), 0.01);
  EXPECT_EQ(first, synthesize("a sandal", voice));
  Voice slow = voice;
  slow.speed = 70;
  EXPECT_GT(synthesize("a sandal", slow).size(), first.size() * 5 / 4);
  Voice low = voice;
  low.pitch = 80;
  EXPECT_NE(synthesize("a sandal", low), first);
}

TEST(AudioSynth, BadVoicesAndTextAreUserErrors) {
  EXPECT_THROW(parse_engine("espeak"), core::UserError);
  EXPECT_EQ(parse_engine("festival"), Engine::festival);
  EXPECT_NE(user_error_of([] { synthesize("hi", Voice{Engine::espeak_ng, "en-mars", "", 175, 50}); }).find("en-mars"),
            std::string::npos);
  EXPECT_THROW(synthesize("hi", Voice{Engine::espeak_ng, "en-us", "robosoft", 175, 50}), core::UserError);
  EXPECT_THROW(synthesize("hi", Voice{Engine::espeak_ng, "en-us", "", 20, 50}), core::UserError);
  EXPECT_THROW(synthesize("hi", Voice{Engine::festival, "kal_diphone", "", 100, 400}), core::UserError);
  EXPECT_THROW(synthesize(" \n", Voice{}), core::UserError);
  EXPECT_THROW(synthesize(std::string(kMaxSynthesisTextBytes + 1, 'a'), Voice{}), core::UserError);
}

TEST(AudioSynth, MissingFailingAndSilentEnginesAreUserErrors) {
  SynthesisPrograms missing;
  missing.espeak_ng = "sieve-no-such-speech-engine";
  const std::string not_installed = user_error_of([&] { synthesize("hi", Voice{}, missing); });
  EXPECT_NE(not_installed.find("sieve-no-such-speech-engine"), std::string::npos) << not_installed;

  SynthesisPrograms missing_sox;
  missing_sox.sox = "sieve-no-such-sox";
  EXPECT_NE(user_error_of([&] { synthesize("hi", Voice{}, missing_sox); }).find("sieve-no-such-sox"),
            std::string::npos);

  SynthesisPrograms failing;
  failing.espeak_ng = "false";
  const std::string failed = user_error_of([&] { synthesize("hi", Voice{}, failing); });
  EXPECT_NE(failed.find("exited with status"), std::string::npos) << failed;

  // festival's Scheme errors exit 0 with no audio.
  SynthesisPrograms silent;
  silent.text2wave = "true";
  const std::string empty = user_error_of([&] { synthesize("hi", Voice{Engine::festival, "kal_diphone", "", 100, 105}, silent); });
  EXPECT_NE(empty.find("no audio"), std::string::npos) << empty;
}

TEST(AudioSynth, EngineVersionsNameTheEngines) {
  EXPECT_NE(engine_version(Engine::espeak_ng).find("eSpeak NG"), std::string::npos);
  EXPECT_NE(engine_version(Engine::festival).find("Festival"), std::string::npos);
}

TEST(AudioPipeline, PipesInputThroughProgramsAndReportsFailures) {
  const PipelineResult upper = run_pipeline({{"cat"}, {"tr", "a-z", "A-Z"}}, "speak up");
  EXPECT_EQ(upper.first_failure(), -1);
  EXPECT_EQ(upper.output, "SPEAK UP");

  // A program that stops reading early must not kill this process with SIGPIPE.
  const PipelineResult early = run_pipeline({{"head", "-c", "1"}}, std::string(1 << 22, 'x'));
  EXPECT_EQ(early.output, "x");

  const PipelineResult failing = run_pipeline({{"cat"}, {"sh", "-c", "echo oops >&2; exit 3"}}, "");
  EXPECT_EQ(failing.first_failure(), 1);
  EXPECT_EQ(failing.exit_codes[1], 3);
  EXPECT_EQ(failing.errors, "oops\n");

  PipelineLimits short_wait;
  short_wait.timeout = std::chrono::milliseconds(200);
  const PipelineResult hung = run_pipeline({{"sleep", "30"}}, "", short_wait);
  EXPECT_TRUE(hung.timed_out);
  EXPECT_EQ(hung.exit_codes[0], 128 + 9);  // killed

  const PipelineResult missing = run_pipeline({{"cat"}, {"sieve-no-such-program"}}, "x");
  EXPECT_EQ(missing.failed_to_start, 1);
  EXPECT_EQ(missing.start_errno, ENOENT);
}

}  // namespace
}  // namespace sieve::data::audio
