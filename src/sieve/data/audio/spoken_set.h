// The spoken half of the trifashion data set: every utterance of DATA_DIR/utterances.jsonl
// (utterances.h) synthesised by many voices, turned into log-mel features and stored under
// DATA_DIR/audio/ for training and evaluation.
//
// Voices and the held-out split. A voice is an espeak-ng accent, speaker variant, speed and
// pitch (speech_synth.h). A seeded draw sets aside `held_out_variants` of the speaker variants;
// the training pool draws its voices from the other variants and the test pool only from the
// set-aside ones, so a test voice's speaker was never heard in training, in any accent, speed or
// pitch. Optionally festival's kal_diphone at a few speeds and pitches is a third pool
// (test_festival): another synthesiser altogether, for a harder shift.
//
// Clips. A "word" utterance of the train split is spoken by train_voices_per_word voices of the
// training pool (clips of split train) and test_voices_per_word voices of the test pool (split
// test); a test-split word (a held-out phrasing) only by test voices. Every word, of either
// split, is also spoken by festival_voices_per_word festival voices. A caption or question is
// spoken once, by a voice of its own split's pool. A seeded noise_fraction of the clips get white
// noise at an SNR drawn uniformly from [snr_db_min, snr_db_max] (noise.h). Every random choice is
// drawn from the seed and the utterance's id (not its position or the worker that ran it), so
// the output is byte-identical for a seed whatever `workers` is.
//
// On disk (DATA_DIR/audio/; all little-endian):
//   manifest.json  the build key (below), counts, the feature settings, build timings.
//                  Written last: a build that did not finish leaves no manifest.
//   voices.json    {"format": 1, "held_out_variants": [...], "voices": [{"id", "name",
//                  "engine", "accent", "variant", "speed", "pitch", "split"}, ...]}; ids are
//                  0..n-1 in order.
//   clips.bin      32-byte header: char[8] "SIEVECLP", u32 version (1), u32 record bytes (40),
//                  u64 clip count, u64 total frames; then one 40-byte record per clip:
//                  i64 utterance id, u64 first frame, u32 frames, u32 samples (at 16 kHz),
//                  u32 voice id, u8 split (0 train, 1 test, 2 test_festival), u8 kind (0 word,
//                  1 caption, 2 question), u8 noisy (0/1), u8 0, f32 SNR in dB (0 if clean),
//                  u32 0. Clips are stored in utterance order, each utterance's clips by split.
//   log_mel.bin    32-byte header: char[8] "SIEVEMEL", u32 version (1), u32 dtype (1 = f32),
//                  u64 rows (total frames), u32 columns (n_mels), u32 0; then rows x columns
//                  f32. Clip i's features [frames, n_mels] are rows [first frame, first frame +
//                  frames). Raw log-mel (log_mel.h), not normalised.
//   wav/clip-NNNNNN.wav  example_wavs clips (evenly spaced over the clip list) as 16-bit WAVs.
//
// The cache. manifest.json records a build key: the format version, an FNV-1a hash of
// utterances.jsonl's bytes, every option that changes the output (all but `workers` and
// `progress`) and the version lines of espeak-ng, sox (and festival when used). A build whose key
// equals the manifest's, over files that load_spoken_set validates, reuses them and synthesises
// nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/data/audio/log_mel.h"
#include "sieve/data/audio/speech_synth.h"
#include "sieve/data/audio/utterances.h"

namespace sieve::data::audio {

enum class ClipSplit : std::uint8_t { train = 0, test = 1, test_festival = 2 };

std::string_view clip_split_name(ClipSplit split);

struct SpokenSetProgress {
  std::int64_t clips_done = 0;
  std::int64_t clips_total = 0;
  double seconds = 0.0;  // since the synthesis started
};

struct SpokenSetOptions {
  // Voice pools (distinct voices each) and the speaker variants only the test pool uses.
  int train_voices = 48;
  int test_voices = 16;
  int held_out_variants = 8;
  // espeak-ng speeds (words per minute) and pitches the pools draw from.
  std::vector<int> speeds = {130, 155, 180, 205};
  std::vector<int> pitches = {30, 45, 60, 75};
  // Clips per word utterance.
  int train_voices_per_word = 20;
  int test_voices_per_word = 8;
  int festival_voices_per_word = 4;  // 0: no festival clips (and festival need not be installed)
  // Noise.
  double noise_fraction = 0.25;
  double snr_db_min = 5.0;
  double snr_db_max = 30.0;
  std::uint64_t seed = 0;
  int example_wavs = 8;
  LogMelOptions features;
  // Not part of the output: parallel synthesis processes, and a report after each batch.
  int workers = 2;
  std::function<void(const SpokenSetProgress&)> progress;
  SynthesisPrograms programs;

  // The `--size small` and `--size full` settings of the data build.
  static SpokenSetOptions small();
  static SpokenSetOptions full();
};

struct SpokenSetStats {
  bool reused = false;            // the cache matched; nothing was synthesised
  std::int64_t clips = 0;
  std::int64_t frames = 0;
  double audio_seconds = 0.0;     // length of all clips
  double build_seconds = 0.0;     // wall time of synthesis + features (0 when reused)
  double clips_per_second = 0.0;  // clips / build_seconds
};

// Builds (or reuses) DATA_DIR/audio/ from DATA_DIR/utterances.jsonl. Throws core::UserError for a
// bad utterance list, options that cannot be met (more voices asked than the grid has, ...), or a
// speech engine that fails.
SpokenSetStats build_spoken_set(const std::filesystem::path& data_dir, const SpokenSetOptions& options);

struct SpokenVoice {
  Voice voice;
  ClipSplit split = ClipSplit::train;
};

struct SpokenClip {
  std::int64_t utterance_id = 0;
  std::int64_t first_frame = 0;
  std::int32_t frames = 0;
  std::int32_t samples = 0;
  std::int32_t voice = 0;  // index into SpokenSet::voices
  ClipSplit split = ClipSplit::train;
  UtteranceKind kind = UtteranceKind::word;
  bool noisy = false;
  float snr_db = 0.0f;
};

// A loaded spoken set; the features stay memory-mapped (copies share the mapping).
struct SpokenSet {
  LogMelOptions features_options;
  std::vector<std::string> held_out_variants;
  std::vector<SpokenVoice> voices;
  std::vector<SpokenClip> clips;
  std::int64_t total_frames = 0;

  int n_mels() const { return features_options.n_mels; }
  // Clip i's features: [clips[i].frames, n_mels] row-major.
  std::span<const float> features(std::size_t clip) const;

  std::shared_ptr<const void> mapping;  // keeps log_mel.bin mapped
  const float* log_mel = nullptr;       // [total_frames, n_mels]
};

// Loads DATA_DIR/audio/ and validates all of it: headers against file sizes before anything is
// read, every record (voice, split, kind, utterance id present in utterances.jsonl, contiguous
// frames), finite features, and that utterances.jsonl is the one the set was built from. Throws
// core::UserError naming the file and the problem.
SpokenSet load_spoken_set(const std::filesystem::path& data_dir);

}  // namespace sieve::data::audio
