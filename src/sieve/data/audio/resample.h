// Sample-rate conversion with libsoxr (Debian libsoxr-dev, LGPL, linked): a user's WAV file at
// 44.1 or 22.05 kHz becomes the 16 kHz audio the log-mel features are defined on.
#pragma once

#include "sieve/data/audio/wav_file.h"

namespace sieve::data::audio {

// The sample rate every clip is synthesised at and every feature is computed from.
inline constexpr int kSpeechSampleRate = 16000;

// `wave` at `sample_rate` Hz (libsoxr's "high quality" setting: a linear-phase filter with 20-bit
// precision and a 91% passband; deterministic). Returns a copy when the rates already match.
// Output samples are clamped to [-1, 1] (the filter can overshoot on full-scale input).
Waveform resample(const Waveform& wave, int sample_rate);

}  // namespace sieve::data::audio
