#include "sieve/data/audio/log_mel.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numbers>

#include "sieve/core/error.h"

namespace sieve::data::audio {

namespace {

// FFTW's planner is not thread-safe (only fftwf_execute* is), so plans are made and destroyed
// under one lock.
std::mutex& planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};
using RealBuffer = std::unique_ptr<float[], FftwFree>;
using ComplexBuffer = std::unique_ptr<fftwf_complex[], FftwFree>;

void validate(const LogMelOptions& o) {
  SIEVE_USER_CHECK(o.sample_rate > 0, "log-mel sample rate {} must be positive", o.sample_rate);
  SIEVE_USER_CHECK(o.n_fft >= 4 && o.n_fft <= 65536, "log-mel n_fft {} outside [4, 65536]", o.n_fft);
  SIEVE_USER_CHECK(o.hop_length >= 1, "log-mel hop length {} must be positive", o.hop_length);
  SIEVE_USER_CHECK(o.n_mels >= 1, "log-mel n_mels {} must be positive", o.n_mels);
  SIEVE_USER_CHECK(o.f_min >= 0.0 && o.f_min < o.f_max && o.f_max <= o.sample_rate / 2,
                   "log-mel frequency range [{}, {}] Hz must satisfy 0 <= f_min < f_max <= sample_rate / 2 = {}",
                   o.f_min, o.f_max, o.sample_rate / 2);
  SIEVE_USER_CHECK(o.log_offset > 0.0 && std::isfinite(o.log_offset), "log-mel log offset {} must be positive",
                   o.log_offset);
}

// Reflect padding: the sample at padded position `i - pad`, mirrored at both ends without
// repeating the edge sample (numpy's and torch's "reflect"). Needs pad < size.
float reflected(std::span<const float> samples, std::int64_t i) {
  const auto size = static_cast<std::int64_t>(samples.size());
  if (i < 0) i = -i;
  if (i >= size) i = 2 * (size - 1) - i;
  return samples[static_cast<std::size_t>(i)];
}

}  // namespace

struct LogMel::Plan {
  fftwf_plan plan = nullptr;
  ~Plan() {
    const std::lock_guard lock(planner_mutex());
    fftwf_destroy_plan(plan);
  }
};

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }

double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

std::vector<double> mel_filterbank(const LogMelOptions& options) {
  validate(options);
  const int F = options.n_fft / 2 + 1;
  const int M = options.n_mels;
  // Band m rises from points[m] to points[m + 1] and falls to points[m + 2], evenly spaced in mel.
  std::vector<double> points(static_cast<std::size_t>(M) + 2);
  const double mel_min = hz_to_mel(options.f_min), mel_max = hz_to_mel(options.f_max);
  for (int i = 0; i < M + 2; ++i) points[i] = mel_to_hz(mel_min + (mel_max - mel_min) * i / (M + 1));
  std::vector<double> bank(static_cast<std::size_t>(F) * M);
  // Bin k's frequency, as torchaudio spaces it: linspace(0, sample_rate // 2, F).
  const double nyquist = options.sample_rate / 2;
  for (int k = 0; k < F; ++k) {
    const double f = nyquist * k / (F - 1);
    for (int m = 0; m < M; ++m) {
      const double up = (f - points[m]) / (points[m + 1] - points[m]);
      const double down = (points[m + 2] - f) / (points[m + 2] - points[m + 1]);
      bank[static_cast<std::size_t>(k) * M + m] = std::max(0.0, std::min(up, down));
    }
  }
  return bank;
}

LogMel::LogMel(const LogMelOptions& options) : options_(options) {
  validate(options_);
  const int N = options_.n_fft;
  const int F = N / 2 + 1;
  const int M = options_.n_mels;

  window_.resize(N);
  for (int n = 0; n < N; ++n) window_[n] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * n / N));

  const std::vector<double> bank = mel_filterbank(options_);
  bands_.resize(M);
  for (int m = 0; m < M; ++m) {
    int first = F, last = -1;
    for (int k = 0; k < F; ++k) {
      if (bank[static_cast<std::size_t>(k) * M + m] > 0.0) {
        first = std::min(first, k);
        last = k;
      }
    }
    SIEVE_USER_CHECK(last >= 0,
                     "log-mel band {} of {} covers no frequency bin: too many mel bands ({}) for n_fft {} over "
                     "[{}, {}] Hz",
                     m, M, M, N, options_.f_min, options_.f_max);
    bands_[m].first_bin = first;
    for (int k = first; k <= last; ++k)
      bands_[m].weights.push_back(static_cast<float>(bank[static_cast<std::size_t>(k) * M + m]));
  }

  // FFTW_ESTIMATE: FFTW_MEASURE would pick the algorithm by timing it, so two runs (or two
  // processes) could round differently and the features would not be reproducible.
  RealBuffer in(fftwf_alloc_real(N));
  ComplexBuffer out(fftwf_alloc_complex(F));
  plan_ = std::make_unique<Plan>();
  const std::lock_guard lock(planner_mutex());
  plan_->plan = fftwf_plan_dft_r2c_1d(N, in.get(), out.get(), FFTW_ESTIMATE);
  SIEVE_CHECK(plan_->plan != nullptr, "FFTW could not plan a real FFT of size {}", N);
}

LogMel::~LogMel() = default;

std::int64_t LogMel::frame_count(std::int64_t samples) const {
  const std::int64_t pad = options_.n_fft / 2;
  return 1 + (samples + 2 * pad - options_.n_fft) / options_.hop_length;
}

std::vector<float> LogMel::compute(std::span<const float> samples) const {
  std::vector<float> out;
  if (static_cast<std::int64_t>(samples.size()) >= min_samples())
    out.resize(static_cast<std::size_t>(frame_count(static_cast<std::int64_t>(samples.size()))) * options_.n_mels);
  compute(samples, out);
  return out;
}

void LogMel::compute(std::span<const float> samples, std::span<float> out) const {
  const auto size = static_cast<std::int64_t>(samples.size());
  SIEVE_USER_CHECK(size >= min_samples(),
                   "an audio clip of {} samples is too short for log-mel features: at least {} ({:.1f} ms at {} Hz) "
                   "are needed",
                   size, min_samples(), 1000.0 * min_samples() / options_.sample_rate, options_.sample_rate);
  const int N = options_.n_fft;
  const int F = N / 2 + 1;
  const int M = options_.n_mels;
  const std::int64_t T = frame_count(size);
  SIEVE_CHECK(static_cast<std::int64_t>(out.size()) == T * M, "log-mel output holds {} values, {} x {} expected",
              out.size(), T, M);

  // Buffers from fftwf_alloc_* have the alignment the plan was made with, as the new-array
  // execute requires.
  RealBuffer frame(fftwf_alloc_real(N));
  ComplexBuffer spectrum(fftwf_alloc_complex(F));
  std::vector<float> power(F);
  const std::int64_t pad = N / 2;
  for (std::int64_t t = 0; t < T; ++t) {
    // Frame t covers padded positions [t * hop, t * hop + N), i.e. samples from t * hop - pad.
    const std::int64_t start = t * options_.hop_length - pad;
    if (start >= 0 && start + N <= size) {
      for (int n = 0; n < N; ++n) frame[n] = samples[static_cast<std::size_t>(start + n)] * window_[n];
    } else {
      for (int n = 0; n < N; ++n) frame[n] = reflected(samples, start + n) * window_[n];
    }
    fftwf_execute_dft_r2c(plan_->plan, frame.get(), spectrum.get());
    for (int k = 0; k < F; ++k) power[k] = spectrum[k][0] * spectrum[k][0] + spectrum[k][1] * spectrum[k][1];
    float* row = out.data() + t * M;
    for (int m = 0; m < M; ++m) {
      const Band& band = bands_[m];
      float mel = 0.0f;
      for (std::size_t j = 0; j < band.weights.size(); ++j) mel += band.weights[j] * power[band.first_bin + j];
      row[m] = std::log(mel + static_cast<float>(options_.log_offset));
    }
  }
}

void normalize_per_utterance(std::span<float> features, int n_mels) {
  SIEVE_CHECK(n_mels > 0 && features.size() % static_cast<std::size_t>(n_mels) == 0,
              "{} feature values are not whole frames of {} mel bands", features.size(), n_mels);
  const std::size_t T = features.size() / n_mels;
  if (T == 0) return;
  for (int m = 0; m < n_mels; ++m) {
    double sum = 0.0, squares = 0.0;
    for (std::size_t t = 0; t < T; ++t) sum += features[t * n_mels + m];
    const double mean = sum / T;
    for (std::size_t t = 0; t < T; ++t) {
      const double d = features[t * n_mels + m] - mean;
      squares += d * d;
    }
    const double std_dev = std::sqrt(squares / T);
    const double scale = std_dev > 1e-12 ? 1.0 / std_dev : 0.0;
    for (std::size_t t = 0; t < T; ++t)
      features[t * n_mels + m] = static_cast<float>((features[t * n_mels + m] - mean) * scale);
  }
}

}  // namespace sieve::data::audio
