// Log-mel features: the audio front-end's input. A short-time Fourier transform (periodic Hann
// window, FFTW in single precision), the power spectrum through a mel filterbank, then
// log(mel + log_offset).
//
// Conventions follow torchaudio's MelSpectrogram defaults, so a PyTorch peer computes the same
// numbers: center=True with reflect padding of n_fft/2 on both sides (frame t is centred on
// sample t * hop_length, and a clip of N samples has 1 + N / hop_length frames for even n_fft),
// power 2, the HTK mel scale (mel = 2595 log10(1 + f / 700)) and triangular filters with no area
// normalisation (norm=None): each filter peaks at 1 at its centre frequency and the triangles sum
// to 1 between the first and the last centre. Defaults are 25 ms windows every 10 ms at 16 kHz
// with 80 mel bands over 0–8 kHz.
//
// Shapes: F = n_fft / 2 + 1 frequency bins, M = n_mels, T = frames; features are [T, M] row-major.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace sieve::data::audio {

struct LogMelOptions {
  int sample_rate = 16000;
  int n_fft = 400;          // also the window length
  int hop_length = 160;
  int n_mels = 80;
  double f_min = 0.0;
  double f_max = 8000.0;    // at most sample_rate / 2
  double log_offset = 1e-6; // log(mel + log_offset): the floor of digital silence is log(1e-6) = -13.8
};

// The HTK mel scale and its inverse.
double hz_to_mel(double hz);
double mel_to_hz(double mel);

// The filterbank as torchaudio.functional.melscale_fbanks(F, f_min, f_max, M, sample_rate,
// norm=None, mel_scale="htk") computes it: [F, M] row-major, in double.
std::vector<double> mel_filterbank(const LogMelOptions& options);

// Computes log-mel features. The FFTW plan is made once in the constructor; compute() may be
// called from many threads at once. Throws core::UserError for options that do not make a
// filterbank (f_max above Nyquist, a mel band with no frequency bin, ...): they come from flags
// and configs.
class LogMel {
 public:
  explicit LogMel(const LogMelOptions& options);
  ~LogMel();
  LogMel(const LogMel&) = delete;
  LogMel& operator=(const LogMel&) = delete;

  const LogMelOptions& options() const { return options_; }
  // T for a clip of `samples` samples.
  std::int64_t frame_count(std::int64_t samples) const;
  // The shortest clip compute() accepts: reflect padding needs more than n_fft / 2 samples.
  std::int64_t min_samples() const { return options_.n_fft / 2 + 1; }

  // [T, M] features of `samples` (at options().sample_rate); a clip shorter than min_samples()
  // is a core::UserError.
  std::vector<float> compute(std::span<const float> samples) const;
  // The same into `out`, which must hold frame_count(samples.size()) * n_mels values.
  void compute(std::span<const float> samples, std::span<float> out) const;

 private:
  struct Plan;
  // One mel band: weights for the frequency bins [first_bin, first_bin + weights.size()).
  struct Band {
    int first_bin = 0;
    std::vector<float> weights;
  };

  LogMelOptions options_;
  std::vector<float> window_;  // periodic Hann, n_fft
  std::vector<Band> bands_;    // M
  std::unique_ptr<Plan> plan_;
};

// Per-utterance normalisation: each mel band of `features` ([T, M]) shifted and scaled to mean 0
// and standard deviation 1 over the clip's frames (a band that is constant becomes 0).
void normalize_per_utterance(std::span<float> features, int n_mels);

}  // namespace sieve::data::audio
