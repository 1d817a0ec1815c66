#include "sieve/data/audio/noise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sieve/core/error.h"

namespace sieve::data::audio {

void add_white_noise(std::span<float> samples, double snr_db, core::Rng& rng) {
  SIEVE_CHECK(std::isfinite(snr_db), "signal-to-noise ratio {} dB is not finite", snr_db);
  if (samples.empty()) return;
  double signal_power = 0.0;
  for (const float s : samples) signal_power += static_cast<double>(s) * s;
  signal_power /= static_cast<double>(samples.size());
  if (signal_power == 0.0) return;

  std::vector<double> noise(samples.size());
  double noise_power = 0.0;
  for (double& n : noise) {
    n = rng.normal();
    noise_power += n * n;
  }
  noise_power /= static_cast<double>(noise.size());
  if (noise_power == 0.0) return;
  const double scale = std::sqrt(signal_power / (noise_power * std::pow(10.0, snr_db / 10.0)));
  for (std::size_t i = 0; i < samples.size(); ++i)
    samples[i] = std::clamp(static_cast<float>(samples[i] + scale * noise[i]), -1.0f, 1.0f);
}

}  // namespace sieve::data::audio
