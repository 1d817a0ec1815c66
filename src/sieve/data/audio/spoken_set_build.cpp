#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "sieve/core/error.h"
#include "sieve/core/rng.h"
#include "sieve/data/audio/noise.h"
#include "sieve/data/audio/resample.h"  // kSpeechSampleRate
#include "sieve/data/audio/spoken_set.h"
#include "sieve/data/audio/spoken_set_files.h"
#include "sieve/data/audio/spoken_voices.h"
#include "sieve/data/audio/wav_file.h"

namespace sieve::data::audio {

namespace fs = std::filesystem;

namespace {

// Purposes of derived seeds (spoken_voices.cpp uses 1 to 3).
constexpr std::uint64_t kWordVoices = 10, kSentenceVoice = 11, kNoise = 12;

// One clip to make: who says what, and the noise it gets.
struct PlannedClip {
  const Utterance* utterance = nullptr;
  std::int32_t voice = 0;
  ClipSplit split = ClipSplit::train;
  bool noisy = false;
  double snr_db = 0.0;
  std::uint64_t noise_seed = 0;
};

void validate(const SpokenSetOptions& o) {
  SIEVE_USER_CHECK(o.train_voices >= 1 && o.test_voices >= 1, "the voice pools need at least one voice each ({} train, {} test)",
                   o.train_voices, o.test_voices);
  SIEVE_USER_CHECK(o.train_voices_per_word >= 0 && o.train_voices_per_word <= o.train_voices,
                   "{} training voices per word from a pool of {}", o.train_voices_per_word, o.train_voices);
  SIEVE_USER_CHECK(o.test_voices_per_word >= 0 && o.test_voices_per_word <= o.test_voices,
                   "{} test voices per word from a pool of {}", o.test_voices_per_word, o.test_voices);
  const auto festival = static_cast<int>(festival_voice_grid().size());
  SIEVE_USER_CHECK(o.festival_voices_per_word >= 0 && o.festival_voices_per_word <= festival,
                   "{} festival voices per word (0 to {})", o.festival_voices_per_word, festival);
  SIEVE_USER_CHECK(o.noise_fraction >= 0.0 && o.noise_fraction <= 1.0, "noise fraction {} outside [0, 1]",
                   o.noise_fraction);
  SIEVE_USER_CHECK(std::isfinite(o.snr_db_min) && std::isfinite(o.snr_db_max) && o.snr_db_min <= o.snr_db_max,
                   "SNR range [{}, {}] dB is not a range", o.snr_db_min, o.snr_db_max);
  SIEVE_USER_CHECK(o.example_wavs >= 0, "example WAV count {} is negative", o.example_wavs);
  SIEVE_USER_CHECK(o.workers >= 1 && o.workers <= 256, "{} synthesis workers (1 to 256)", o.workers);
}

std::vector<PlannedClip> plan_clips(const std::vector<Utterance>& utterances, const VoicePools& pools,
                                    const SpokenSetOptions& o) {
  std::vector<PlannedClip> plan;
  const auto add = [&](const Utterance& u, std::int32_t voice, ClipSplit split) {
    PlannedClip clip{&u, voice, split};
    // Keyed by the utterance and the voice: the same clip gets the same noise in any build.
    core::Rng rng(derived_seed(o.seed, kNoise, derived_seed(static_cast<std::uint64_t>(u.id), static_cast<std::uint64_t>(voice))));
    clip.noisy = rng.uniform() < o.noise_fraction;
    clip.snr_db = o.snr_db_min + (o.snr_db_max - o.snr_db_min) * rng.uniform();
    clip.noise_seed = rng.next_u64();
    if (!clip.noisy) clip.snr_db = 0.0;
    plan.push_back(clip);
  };
  const auto id = [](const Utterance& u) { return static_cast<std::uint64_t>(u.id); };
  for (const Utterance& u : utterances) {
    if (u.kind == UtteranceKind::word) {
      if (!u.test)
        for (const auto v : draw_distinct(pools.train, o.train_voices_per_word, derived_seed(o.seed, kWordVoices, id(u) * 3)))
          add(u, v, ClipSplit::train);
      for (const auto v : draw_distinct(pools.test, o.test_voices_per_word, derived_seed(o.seed, kWordVoices, id(u) * 3 + 1)))
        add(u, v, ClipSplit::test);
      for (const auto v :
           draw_distinct(pools.festival, o.festival_voices_per_word, derived_seed(o.seed, kWordVoices, id(u) * 3 + 2)))
        add(u, v, ClipSplit::test_festival);
    } else {
      const auto& pool = u.test ? pools.test : pools.train;
      core::Rng rng(derived_seed(o.seed, kSentenceVoice, id(u)));
      add(u, pool[rng.below(pool.size())], u.test ? ClipSplit::test : ClipSplit::train);
    }
  }
  return plan;
}

nlohmann::json build_key(const SpokenSetOptions& o, std::uint64_t utterances_fingerprint, const VoicePools& pools) {
  nlohmann::json engines = {{"espeak-ng", engine_version(Engine::espeak_ng, o.programs)}};
  if (!pools.festival.empty()) engines["festival"] = engine_version(Engine::festival, o.programs);
  return {{"format", kSpokenSetFormat},
          {"utterances_fnv1a", fmt::format("{:016x}", utterances_fingerprint)},
          {"train_voices", o.train_voices},
          {"test_voices", o.test_voices},
          {"held_out_variants", o.held_out_variants},
          {"speeds", o.speeds},
          {"pitches", o.pitches},
          {"train_voices_per_word", o.train_voices_per_word},
          {"test_voices_per_word", o.test_voices_per_word},
          {"festival_voices_per_word", o.festival_voices_per_word},
          {"noise_fraction", o.noise_fraction},
          {"snr_db", {o.snr_db_min, o.snr_db_max}},
          {"seed", o.seed},
          {"example_wavs", o.example_wavs},
          {"features", log_mel_options_json(o.features)},
          {"engines", engines}};
}

// The stats of an existing set whose key matches, or nullopt when it must be built.
std::optional<SpokenSetStats> reusable(const fs::path& data_dir, const nlohmann::json& key) {
  const nlohmann::json manifest = read_manifest(data_dir);
  if (manifest.is_null() || !manifest.contains("build_key") || manifest["build_key"].dump() != key.dump())
    return std::nullopt;
  try {
    const SpokenSet set = load_spoken_set(data_dir);
    SpokenSetStats stats;
    stats.reused = true;
    stats.clips = static_cast<std::int64_t>(set.clips.size());
    stats.frames = set.total_frames;
    for (const SpokenClip& c : set.clips) stats.audio_seconds += static_cast<double>(c.samples) / kSpeechSampleRate;
    return stats;
  } catch (const core::UserError&) {
    return std::nullopt;  // damaged: build it again
  }
}

// A clip's audio and features, made by a worker.
struct MadeClip {
  std::vector<float> samples;  // kept only for the example WAVs
  std::int32_t sample_count = 0;
  std::vector<float> features;
};

MadeClip make_clip(const PlannedClip& clip, const VoicePools& pools, const LogMel& log_mel, const SpokenSetOptions& o,
                   bool keep_samples) {
  MadeClip made;
  std::vector<float> samples = synthesize(clip.utterance->text, pools.voices[clip.voice].voice, o.programs);
  if (clip.noisy) {
    core::Rng rng(clip.noise_seed);
    add_white_noise(samples, clip.snr_db, rng);
  }
  // An engine that says a word in under 12.5 ms produced no speech worth a clip.
  SIEVE_USER_CHECK(static_cast<std::int64_t>(samples.size()) >= log_mel.min_samples(),
                   "speaking \"{}\" as {} gave only {} samples", clip.utterance->text,
                   voice_name(pools.voices[clip.voice].voice), samples.size());
  made.sample_count = static_cast<std::int32_t>(samples.size());
  made.features = log_mel.compute(samples);
  if (keep_samples) made.samples = std::move(samples);
  return made;
}

}  // namespace

std::string_view clip_split_name(ClipSplit split) {
  switch (split) {
    case ClipSplit::train: return "train";
    case ClipSplit::test: return "test";
    case ClipSplit::test_festival: return "test_festival";
  }
  return "?";
}

SpokenSetOptions SpokenSetOptions::small() { return SpokenSetOptions{}; }

SpokenSetOptions SpokenSetOptions::full() {
  SpokenSetOptions o;
  o.train_voices = 160;
  o.test_voices = 48;
  o.train_voices_per_word = 60;
  o.test_voices_per_word = 20;
  o.festival_voices_per_word = 9;
  return o;
}

SpokenSetStats build_spoken_set(const fs::path& data_dir, const SpokenSetOptions& options) {
  validate(options);
  const fs::path utterance_path = data_dir / "utterances.jsonl";
  const std::vector<Utterance> utterances = read_utterances(utterance_path);
  const LogMel log_mel(options.features);
  SIEVE_USER_CHECK(options.features.sample_rate == kSpeechSampleRate,
                   "spoken-set features are computed at {} Hz, the synthesis rate (got {} Hz)", kSpeechSampleRate,
                   options.features.sample_rate);
  const VoicePools pools = make_voice_pools(options);
  const nlohmann::json key = build_key(options, file_fingerprint(utterance_path), pools);
  if (const auto stats = reusable(data_dir, key)) return *stats;

  const fs::path dir = spoken_set_dir(data_dir);
  fs::create_directories(dir);
  // The manifest goes first and comes back last: a build that stops half-way is not reused.
  fs::remove(dir / "manifest.json");
  fs::remove_all(dir / "wav");
  const std::vector<PlannedClip> plan = plan_clips(utterances, pools, options);
  std::vector<std::size_t> examples;  // evenly spaced clip indices
  const auto example_count = std::min<std::size_t>(static_cast<std::size_t>(options.example_wavs), plan.size());
  for (std::size_t i = 0; i < example_count; ++i) examples.push_back(i * plan.size() / example_count);
  if (!examples.empty()) fs::create_directories(dir / "wav");

  LogMelWriter features(dir / "log_mel.bin", options.features.n_mels);
  ClipWriter clips(dir / "clips.bin");
  SpokenSetStats stats;
  const auto start = std::chrono::steady_clock::now();
  // Batches of clips made in parallel, then written in plan order.
  const std::size_t batch = static_cast<std::size_t>(options.workers) * 16;
  std::vector<MadeClip> made;
  for (std::size_t begin = 0; begin < plan.size(); begin += batch) {
    const std::size_t end = std::min(plan.size(), begin + batch);
    made.assign(end - begin, MadeClip{});
    std::atomic<std::size_t> next{begin};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    const auto work = [&] {
      for (std::size_t i = next++; i < end; i = next++) {
        try {
          const bool example = std::binary_search(examples.begin(), examples.end(), i);
          made[i - begin] = make_clip(plan[i], pools, log_mel, options, example);
        } catch (...) {
          const std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
          next = end;
        }
      }
    };
    std::vector<std::thread> workers;
    for (int w = 1; w < options.workers; ++w) workers.emplace_back(work);
    work();
    for (auto& worker : workers) worker.join();
    if (failure) std::rethrow_exception(failure);

    for (std::size_t i = begin; i < end; ++i) {
      const PlannedClip& p = plan[i];
      MadeClip& m = made[i - begin];
      SpokenClip clip;
      clip.utterance_id = p.utterance->id;
      clip.first_frame = features.rows();
      clip.frames = static_cast<std::int32_t>(m.features.size() / options.features.n_mels);
      clip.samples = m.sample_count;
      clip.voice = p.voice;
      clip.split = p.split;
      clip.kind = p.utterance->kind;
      clip.noisy = p.noisy;
      clip.snr_db = static_cast<float>(p.snr_db);
      features.append(m.features);
      clips.append(clip);
      stats.audio_seconds += static_cast<double>(m.sample_count) / kSpeechSampleRate;
      if (!m.samples.empty())
        write_wav(dir / "wav" / fmt::format("clip-{:06}.wav", i), Waveform{std::move(m.samples), kSpeechSampleRate});
    }
    if (options.progress) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      options.progress({static_cast<std::int64_t>(end), static_cast<std::int64_t>(plan.size()), elapsed.count()});
    }
  }
  stats.clips = static_cast<std::int64_t>(plan.size());
  stats.frames = features.rows();
  stats.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stats.clips_per_second = stats.build_seconds > 0 ? static_cast<double>(stats.clips) / stats.build_seconds : 0.0;

  write_voices(dir / "voices.json", pools);
  clips.commit(features.rows());
  features.commit();
  std::map<std::string, std::int64_t> by_split = {{"train", 0}, {"test", 0}, {"test_festival", 0}};
  for (const PlannedClip& p : plan) ++by_split[std::string(clip_split_name(p.split))];
  const nlohmann::json manifest = {{"format", kSpokenSetFormat},
                                   {"build_key", key},
                                   {"features", log_mel_options_json(options.features)},
                                   {"clips", stats.clips},
                                   {"clips_by_split", by_split},
                                   {"frames", stats.frames},
                                   {"audio_seconds", stats.audio_seconds},
                                   {"voices", pools.voices.size()}};
  core::write_file_atomically(dir / "manifest.json", manifest.dump(1) + "\n");
  return stats;
}

}  // namespace sieve::data::audio
