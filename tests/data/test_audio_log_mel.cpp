// Log-mel features against a float64 reference (naive DFT), the mel filterbank's properties,
// per-utterance normalisation and noise mixing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <numbers>
#include <thread>
#include <vector>

#include "sieve/core/error.h"
#include "sieve/core/rng.h"
#include "sieve/data/audio/log_mel.h"
#include "sieve/data/audio/noise.h"
#include "sieve/data/audio/process_pipeline.h"

namespace sieve::data::audio {
namespace {

// Two tones and some white noise, so every mel band has energy.
std::vector<float> test_signal(int count, int sample_rate, std::uint64_t seed = 1) {
  core::Rng rng(seed);
  std::vector<float> out(count);
  for (int i = 0; i < count; ++i) {
    const double t = static_cast<double>(i) / sample_rate;
    out[i] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * 440 * t) +
                                0.2 * std::sin(2 * std::numbers::pi * 3000 * t) + 0.05 * rng.normal());
  }
  return out;
}

// The whole pipeline in double with a naive DFT: reflect padding, periodic Hann window, power
// spectrum, the filterbank, log. [T, M].
std::vector<double> reference_log_mel(const std::vector<float>& x, const LogMelOptions& o) {
  const int N = o.n_fft, F = N / 2 + 1, M = o.n_mels, pad = N / 2;
  const auto size = static_cast<int>(x.size());
  const int T = 1 + (size + 2 * pad - N) / o.hop_length;
  const std::vector<double> bank = mel_filterbank(o);
  std::vector<double> out(static_cast<std::size_t>(T) * M);
  std::vector<double> power(F);
  for (int t = 0; t < T; ++t) {
    for (int k = 0; k < F; ++k) {
      double re = 0.0, im = 0.0;
      for (int n = 0; n < N; ++n) {
        int i = t * o.hop_length + n - pad;
        if (i < 0) i = -i;
        if (i >= size) i = 2 * (size - 1) - i;
        const double w = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * n / N);
        const double angle = -2 * std::numbers::pi * static_cast<double>(k) * n / N;
        re += w * x[i] * std::cos(angle);
        im += w * x[i] * std::sin(angle);
      }
      power[k] = re * re + im * im;
    }
    for (int m = 0; m < M; ++m) {
      double mel = 0.0;
      for (int k = 0; k < F; ++k) mel += bank[static_cast<std::size_t>(k) * M + m] * power[k];
      out[static_cast<std::size_t>(t) * M + m] = std::log(mel + o.log_offset);
    }
  }
  return out;
}

void expect_matches_reference(const LogMelOptions& options, int samples) {
  const std::vector<float> x = test_signal(samples, options.sample_rate);
  const LogMel log_mel(options);
  const std::vector<float> got = log_mel.compute(x);
  const std::vector<double> want = reference_log_mel(x, options);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(static_cast<std::int64_t>(got.size()), log_mel.frame_count(samples) * options.n_mels);
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  // An absolute error in log space is a relative error of the mel energy.
  EXPECT_LT(worst, 2e-5) << "n_fft " << options.n_fft << ", hop " << options.hop_length;
}

TEST(AudioLogMel, MatchesFloat64ReferenceWithDefaults) {
  const LogMelOptions defaults;
  EXPECT_EQ(defaults.n_fft, 400);
  EXPECT_EQ(defaults.hop_length, 160);
  expect_matches_reference(defaults, 4000);  // 26 frames, both ends reflect-padded
}

TEST(AudioLogMel, MatchesFloat64ReferenceWithOtherSettings) {
  LogMelOptions o;
  o.n_fft = 512;
  o.hop_length = 128;
  o.n_mels = 40;
  o.f_min = 20;
  o.f_max = 7600;
  expect_matches_reference(o, 3001);
  LogMelOptions odd;  // odd window, 8 kHz audio, a hop longer than the clip's tail
  odd.sample_rate = 8000;
  odd.n_fft = 201;
  odd.hop_length = 97;
  odd.n_mels = 23;
  odd.f_max = 4000;
  expect_matches_reference(odd, 1500);
}

// PyTorch's STFT and torchaudio's filterbank formula (log_mel_torch.py) give the same features:
// the framing, window and padding conventions are torchaudio's, not only the reference's.
TEST(AudioLogMel, MatchesTorchaudioConventions) {
  const LogMelOptions o;
  const std::vector<float> x = test_signal(8000, o.sample_rate, 3);
  const std::string script = std::string(SIEVE_FIXTURE_DIR) + "/../data/log_mel_torch.py";
  const PipelineResult torch = run_pipeline(
      {{"/usr/bin/python3", script, std::to_string(o.sample_rate), std::to_string(o.n_fft), std::to_string(o.hop_length),
        std::to_string(o.n_mels), std::to_string(o.f_min), std::to_string(o.f_max), std::to_string(o.log_offset)}},
      std::string_view(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(float)));
  ASSERT_EQ(torch.first_failure(), -1) << torch.errors << "(PyTorch comes with scripts/install-deps.sh --test)";
  const std::vector<float> got = LogMel(o).compute(x);
  ASSERT_EQ(torch.output.size(), got.size() * sizeof(float));
  std::vector<float> want(got.size());
  std::memcpy(want.data(), torch.output.data(), torch.output.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
  EXPECT_LT(worst, 1e-4);  // both in float32
}

TEST(AudioLogMel, FrameCountFollowsCenteredFrames) {
  const LogMel log_mel{LogMelOptions{}};
  EXPECT_EQ(log_mel.frame_count(16000), 101);  // 1 s: one frame per 10 ms, plus one
  EXPECT_EQ(log_mel.frame_count(201), 2);
  EXPECT_EQ(log_mel.min_samples(), 201);
  EXPECT_THROW(log_mel.compute(std::vector<float>(200, 0.1f)), core::UserError);
  // Digital silence sits at log(log_offset).
  const auto silence = log_mel.compute(std::vector<float>(1600, 0.0f));
  for (const float v : silence) EXPECT_NEAR(v, std::log(1e-6), 1e-5);
}

TEST(AudioLogMel, ComputesIdenticallyFromManyThreads) {
  const LogMel log_mel{LogMelOptions{}};
  const std::vector<float> x = test_signal(16000, 16000, 7);
  const std::vector<float> alone = log_mel.compute(x);
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) threads.emplace_back([&] { result = log_mel.compute(x); });
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, alone);
}

TEST(AudioLogMel, BadOptionsAreUserErrors) {
  LogMelOptions above_nyquist;
  above_nyquist.f_max = 9000;
  EXPECT_THROW(LogMel{above_nyquist}, core::UserError);
  LogMelOptions crowded;  // 128 bands over 33 bins leave the low bands without a bin
  crowded.n_fft = 64;
  crowded.n_mels = 128;
  EXPECT_THROW(LogMel{crowded}, core::UserError);
  LogMelOptions no_hop;
  no_hop.hop_length = 0;
  EXPECT_THROW(LogMel{no_hop}, core::UserError);
}

TEST(AudioMelScale, IsHtk) {
  EXPECT_NEAR(hz_to_mel(700.0), 2595.0 * std::log10(2.0), 1e-9);
  EXPECT_NEAR(hz_to_mel(1000.0), 1000.0, 0.02);  // the scale's anchor
  for (const double hz : {0.0, 55.0, 440.0, 7999.0}) EXPECT_NEAR(mel_to_hz(hz_to_mel(hz)), hz, 1e-9);
}

TEST(AudioMelFilterbank, IsEvenlySpacedOverlappingTriangles) {
  LogMelOptions o;
  o.n_fft = 1024;  // fine bins, so the triangles are well resolved
  o.n_mels = 40;
  o.f_min = 50;
  o.f_max = 7000;
  const int F = o.n_fft / 2 + 1, M = o.n_mels;
  const std::vector<double> bank = mel_filterbank(o);
  ASSERT_EQ(bank.size(), static_cast<std::size_t>(F) * M);
  const double bin_hz = 8000.0 / (F - 1);
  const auto at = [&](int k, int m) { return bank[static_cast<std::size_t>(k) * M + m]; };
  const auto centre = [&](int m) {
    return mel_to_hz(hz_to_mel(o.f_min) + (hz_to_mel(o.f_max) - hz_to_mel(o.f_min)) * (m + 1) / (M + 1));
  };
  double previous_peak = 0.0;
  for (int m = 0; m < M; ++m) {
    SCOPED_TRACE("band " + std::to_string(m));
    // Non-negative, at most 1, rising to one peak then falling (a triangle sampled on bins).
    int peak = 0;
    for (int k = 0; k < F; ++k) {
      ASSERT_GE(at(k, m), 0.0);
      ASSERT_LE(at(k, m), 1.0);
      if (at(k, m) > at(peak, m)) peak = k;
    }
    for (int k = 1; k <= peak; ++k) ASSERT_GE(at(k, m), at(k - 1, m));
    for (int k = peak + 1; k < F; ++k) ASSERT_LE(at(k, m), at(k - 1, m));
    // The peak is the bin nearest the band's centre frequency, and reaches nearly 1 there.
    EXPECT_NEAR(peak * bin_hz, centre(m), bin_hz / 2 + 1e-9);
    EXPECT_GT(at(peak, m), 0.5);
    EXPECT_GT(peak * bin_hz, previous_peak);
    previous_peak = peak * bin_hz;
  }
  // Between the first and the last centre, neighbouring triangles sum to exactly 1; outside
  // [f_min, f_max] every band is 0.
  for (int k = 0; k < F; ++k) {
    const double f = k * bin_hz;
    double sum = 0.0;
    for (int m = 0; m < M; ++m) sum += at(k, m);
    if (f >= centre(0) && f <= centre(M - 1)) {
      EXPECT_NEAR(sum, 1.0, 1e-9) << f << " Hz";
    }
    if (f <= o.f_min || f >= o.f_max) {
      EXPECT_EQ(sum, 0.0) << f << " Hz";
    }
  }
}

TEST(AudioLogMel, PerUtteranceNormalisationGivesZeroMeanUnitVariance) {
  const LogMel log_mel{LogMelOptions{}};
  std::vector<float> features = log_mel.compute(test_signal(8000, 16000));
  const int M = 80;
  normalize_per_utterance(features, M);
  const std::size_t T = features.size() / M;
  for (int m = 0; m < M; ++m) {
    double sum = 0.0, squares = 0.0;
    for (std::size_t t = 0; t < T; ++t) sum += features[t * M + m];
    for (std::size_t t = 0; t < T; ++t) squares += std::pow(features[t * M + m] - sum / T, 2);
    EXPECT_NEAR(sum / T, 0.0, 1e-5);
    EXPECT_NEAR(squares / T, 1.0, 1e-4);
  }
  std::vector<float> constant(3 * 2, 4.0f);
  normalize_per_utterance(constant, 2);
  EXPECT_EQ(constant, std::vector<float>(6, 0.0f));
}

double power(const std::vector<float>& x) {
  double sum = 0.0;
  for (const float v : x) sum += static_cast<double>(v) * v;
  return sum / static_cast<double>(x.size());
}

TEST(AudioNoise, MixesAtExactlyTheAskedRatioDeterministically) {
  std::vector<float> clean(16000);
  for (int i = 0; i < 16000; ++i) clean[i] = static_cast<float>(0.2 * std::sin(i * 0.1));
  for (const double snr : {0.0, 10.0, 25.0}) {
    std::vector<float> noisy = clean;
    core::Rng rng(42);
    add_white_noise(noisy, snr, rng);
    std::vector<float> noise(clean.size());
    for (std::size_t i = 0; i < clean.size(); ++i) noise[i] = noisy[i] - clean[i];
    EXPECT_NEAR(10 * std::log10(power(clean) / power(noise)), snr, 1e-3);

    std::vector<float> again = clean;
    core::Rng same(42);
    add_white_noise(again, snr, same);
    EXPECT_EQ(again, noisy);
    std::vector<float> other = clean;
    core::Rng different(43);
    add_white_noise(other, snr, different);
    EXPECT_NE(other, noisy);
  }
  std::vector<float> loud(100, 0.99f);
  core::Rng rng(1);
  add_white_noise(loud, -10.0, rng);
  for (const float v : loud) EXPECT_TRUE(v >= -1.0f && v <= 1.0f);
  std::vector<float> silent(100, 0.0f);
  add_white_noise(silent, 10.0, rng);
  EXPECT_EQ(silent, std::vector<float>(100, 0.0f));
}

}  // namespace
}  // namespace sieve::data::audio
