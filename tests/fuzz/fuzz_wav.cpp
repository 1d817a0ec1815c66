// libFuzzer target: a WAV file decoded by data::audio::parse_wav (the bytes a user's --wav file
// holds). A core::UserError is the expected answer to a bad file; anything else (another
// exception, a sanitizer report, samples outside [-1, 1], a sample count the bytes cannot hold) is
// a bug and crashes the run. Then the decoded audio is written back as 16-bit PCM, which must
// decode again to the same number of samples.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_inputs.h"
#include "sieve/core/error.h"
#include "sieve/data/audio/wav_file.h"

namespace fz = sieve::fuzz;
namespace audio = sieve::data::audio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const audio::Waveform wave =
        audio::parse_wav(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.wav");
    if (wave.sample_rate <= 0) fz::broken("a non-positive sample rate");
    if (wave.samples.size() > size) fz::broken("more samples than bytes");
    for (const float s : wave.samples)
      if (!(s >= -1.0f && s <= 1.0f)) fz::broken("a sample outside [-1, 1]");
    const auto again = audio::parse_wav(audio::encode_wav(wave), "fuzz-again.wav");
    if (again.samples.size() != wave.samples.size()) fz::broken("a written file decodes to another length");
  } catch (const sieve::core::UserError&) {
  }
  return 0;
}
