// The voice pools of a spoken set (spoken_set.h): which espeak-ng speaker variants are held out,
// which voices train and which test, and the festival pool. Deterministic for the options' seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sieve/data/audio/spoken_set.h"

namespace sieve::data::audio {

struct VoicePools {
  std::vector<std::string> held_out_variants;  // in espeak_variants() order
  std::vector<SpokenVoice> voices;             // the training pool, then the test pool, then festival
  std::vector<std::int32_t> train, test, festival;  // ids (indices into voices) of each pool
};

// Throws core::UserError when the options ask for more voices than their grid holds.
VoicePools make_voice_pools(const SpokenSetOptions& options);

// The festival grid: kal_diphone at three speeds and three mean pitches.
std::vector<Voice> festival_voice_grid();

// A random generator's seed for one purpose: the set's seed mixed with up to two keys.
std::uint64_t derived_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0);

// `count` distinct items of `items` in a seeded random order (a partial Fisher-Yates shuffle).
std::vector<std::int32_t> draw_distinct(const std::vector<std::int32_t>& items, std::size_t count, std::uint64_t seed);

}  // namespace sieve::data::audio
