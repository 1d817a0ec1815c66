#include "sieve/data/audio/resample.h"

#include <soxr.h>

#include <algorithm>
#include <cmath>

#include "sieve/core/error.h"

namespace sieve::data::audio {

Waveform resample(const Waveform& wave, int sample_rate) {
  SIEVE_CHECK(wave.sample_rate > 0 && sample_rate > 0, "resampling from {} Hz to {} Hz", wave.sample_rate,
              sample_rate);
  if (wave.sample_rate == sample_rate) return wave;
  Waveform out;
  out.sample_rate = sample_rate;
  const double ratio = static_cast<double>(sample_rate) / wave.sample_rate;
  out.samples.resize(static_cast<std::size_t>(std::llround(static_cast<double>(wave.samples.size()) * ratio)));
  if (wave.samples.empty() || out.samples.empty()) {
    out.samples.clear();
    return out;
  }
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);  // one thread: the caller parallelises
  std::size_t used = 0, produced = 0;
  const soxr_error_t error =
      soxr_oneshot(wave.sample_rate, sample_rate, 1, wave.samples.data(), wave.samples.size(), &used,
                   out.samples.data(), out.samples.size(), &produced, &io, &quality, &runtime);
  SIEVE_CHECK(error == nullptr, "libsoxr failed to resample {} Hz to {} Hz: {}", wave.sample_rate, sample_rate,
              error);
  out.samples.resize(produced);
  for (float& s : out.samples) s = std::clamp(s, -1.0f, 1.0f);
  return out;
}

}  // namespace sieve::data::audio
