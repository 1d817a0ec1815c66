#include "sieve/multimodal/file_inputs.h"

#include <algorithm>

#include "sieve/core/error.h"
#include "sieve/data/audio/log_mel.h"
#include "sieve/data/audio/resample.h"
#include "sieve/data/audio/wav_file.h"
#include "sieve/data/image_file.h"

namespace sieve::multimodal {

nn::ImageBatch image_from_file(const std::filesystem::path& path, const nn::TriModalConfig& config) {
  const data::GrayImage image = data::read_image_file(path);
  SIEVE_USER_CHECK(image.width == image.height && image.width % config.image_patch == 0 &&
                       image.width <= config.max_image_side,
                   "{}: a {}×{} image; the model takes square images of a multiple of {} pixels up to {} (28×28 "
                   "items, 56×56 scenes)",
                   path.string(), image.width, image.height, config.image_patch, config.max_image_side);
  return {nn::normalize_pixels(image.pixels, 1, image.height, image.width)};
}

nn::AudioBatch audio_from_file(const std::filesystem::path& path, const nn::TriModalConfig& config) {
  data::audio::LogMelOptions options;
  options.n_mels = static_cast<int>(config.n_mels);
  const data::audio::Waveform wave = data::audio::resample(data::audio::read_wav(path), options.sample_rate);
  const data::audio::LogMel log_mel(options);
  SIEVE_USER_CHECK(static_cast<std::int64_t>(wave.samples.size()) >= log_mel.min_samples(),
                   "{}: {} samples at {} Hz is too short to hear (at least {})", path.string(), wave.samples.size(),
                   options.sample_rate, log_mel.min_samples());
  const std::vector<float> features = log_mel.compute(wave.samples);
  const std::int64_t frames = std::min<std::int64_t>(static_cast<std::int64_t>(features.size()) / config.n_mels,
                                                     config.max_audio_frames());
  nn::AudioBatch batch;
  batch.features = core::Tensor::empty({1, frames, config.n_mels, 1});
  const auto values = static_cast<std::size_t>(frames * config.n_mels);
  nn::normalize_log_mel(std::span<const float>(features).first(values), {batch.features.data<float>(), values});
  batch.frames = {frames};
  return batch;
}

}  // namespace sieve::multimodal
