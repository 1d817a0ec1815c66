// Background noise for robustness: white Gaussian noise mixed into a clip at a chosen
// signal-to-noise ratio, drawn from a seeded core::Rng so a data set rebuilds byte for byte.
#pragma once

#include <span>

#include "sieve/core/rng.h"

namespace sieve::data::audio {

// Adds noise to `samples` so that 10 log10(signal power / noise power) is exactly `snr_db` (the
// drawn noise is rescaled to the power that ratio asks for), then clamps to [-1, 1]. A silent
// clip (zero power) stays silent: no noise power satisfies a ratio to nothing.
void add_white_noise(std::span<float> samples, double snr_db, core::Rng& rng);

}  // namespace sieve::data::audio
