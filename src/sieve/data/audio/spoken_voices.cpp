#include "sieve/data/audio/spoken_voices.h"

#include <algorithm>

#include "sieve/core/error.h"
#include "sieve/core/rng.h"

namespace sieve::data::audio {

namespace {

// Purposes of derived seeds, so two draws from one seed never share a stream.
constexpr std::uint64_t kHeldOutVariants = 1, kTrainPool = 2, kTestPool = 3;

std::vector<Voice> espeak_grid(const std::vector<std::string>& variants, const SpokenSetOptions& options) {
  std::vector<Voice> grid;
  for (const auto& accent : espeak_accents())
    for (const auto& variant : variants)
      for (const int speed : options.speeds)
        for (const int pitch : options.pitches) grid.push_back(Voice{Engine::espeak_ng, accent, variant, speed, pitch});
  return grid;
}

}  // namespace

std::uint64_t derived_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = seed;
  std::uint64_t out = core::splitmix64(x);
  x = out ^ a;
  out = core::splitmix64(x);
  x = out ^ b;
  return core::splitmix64(x);
}

std::vector<std::int32_t> draw_distinct(const std::vector<std::int32_t>& items, std::size_t count, std::uint64_t seed) {
  SIEVE_CHECK(count <= items.size(), "drawing {} of {} items", count, items.size());
  std::vector<std::int32_t> pool = items;
  core::Rng rng(seed);
  for (std::size_t i = 0; i < count; ++i) std::swap(pool[i], pool[i + rng.below(pool.size() - i)]);
  pool.resize(count);
  return pool;
}

std::vector<Voice> festival_voice_grid() {
  std::vector<Voice> grid;
  for (const auto& name : festival_voices())
    for (const int speed : {85, 100, 118})
      for (const int pitch : {85, 105, 130}) grid.push_back(Voice{Engine::festival, name, "", speed, pitch});
  return grid;
}

VoicePools make_voice_pools(const SpokenSetOptions& o) {
  const std::vector<std::string>& variants = espeak_variants();
  SIEVE_USER_CHECK(o.held_out_variants >= 1 && o.held_out_variants < static_cast<int>(variants.size()),
                   "held-out speaker variants {} outside [1, {}]", o.held_out_variants, variants.size() - 1);
  SIEVE_USER_CHECK(!o.speeds.empty() && !o.pitches.empty(), "the voice grid needs at least one speed and one pitch");
  for (const int speed : o.speeds)
    validate_voice(Voice{Engine::espeak_ng, espeak_accents()[0], "", speed, 50});
  for (const int pitch : o.pitches)
    validate_voice(Voice{Engine::espeak_ng, espeak_accents()[0], "", 175, pitch});

  VoicePools pools;
  std::vector<std::int32_t> order(variants.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int32_t>(i);
  std::vector<std::int32_t> held = draw_distinct(order, static_cast<std::size_t>(o.held_out_variants),
                                                 derived_seed(o.seed, kHeldOutVariants));
  std::sort(held.begin(), held.end());
  std::vector<std::string> train_variants;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    if (std::binary_search(held.begin(), held.end(), static_cast<std::int32_t>(i))) {
      pools.held_out_variants.push_back(variants[i]);
    } else {
      train_variants.push_back(variants[i]);
    }
  }

  const auto add_pool = [&](const std::vector<Voice>& grid, int count, ClipSplit split, std::uint64_t purpose,
                            std::vector<std::int32_t>& ids, const char* what) {
    SIEVE_USER_CHECK(count >= 0 && static_cast<std::size_t>(count) <= grid.size(),
                     "{} voices: {} asked, the grid has {}", what, count, grid.size());
    std::vector<std::int32_t> index(grid.size());
    for (std::size_t i = 0; i < index.size(); ++i) index[i] = static_cast<std::int32_t>(i);
    std::vector<std::int32_t> chosen = draw_distinct(index, static_cast<std::size_t>(count), derived_seed(o.seed, purpose));
    std::sort(chosen.begin(), chosen.end());  // pool order follows the grid, so voices.json reads well
    for (const std::int32_t i : chosen) {
      ids.push_back(static_cast<std::int32_t>(pools.voices.size()));
      pools.voices.push_back(SpokenVoice{grid[static_cast<std::size_t>(i)], split});
    }
  };
  add_pool(espeak_grid(train_variants, o), o.train_voices, ClipSplit::train, kTrainPool, pools.train, "training");
  add_pool(espeak_grid(pools.held_out_variants, o), o.test_voices, ClipSplit::test, kTestPool, pools.test, "test");
  if (o.festival_voices_per_word > 0) {
    const std::vector<Voice> grid = festival_voice_grid();
    for (const Voice& voice : grid) {
      pools.festival.push_back(static_cast<std::int32_t>(pools.voices.size()));
      pools.voices.push_back(SpokenVoice{voice, ClipSplit::test_festival});
    }
  }
  return pools;
}

}  // namespace sieve::data::audio
