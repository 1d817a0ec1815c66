// Scenes: 2×2 grids of Fashion-MNIST items. Half the scenes draw each cell's class
// independently; the other half repeat one class in 2, 3 or 4 cells (the rest other classes),
// so counting questions have every answer 0..4 to ask about and "where" questions have scenes
// with repeated distractors.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "sieve/core/rng.h"
#include "sieve/data/trifashion/vocabulary.h"

namespace sieve::data::trifashion {

struct Scene {
  std::array<int, kPositionCount> classes{};
  std::array<std::int32_t, kPositionCount> sources{};  // image index in the split's Fashion-MNIST file

  int count_of(int cls) const;
};

// The images of one Fashion-MNIST split, grouped by class.
using ClassPools = std::array<std::vector<std::int32_t>, kClassCount>;
ClassPools class_pools(std::span<const std::uint8_t> labels);

// `count` scenes whose items come from `pools` (every pool must be non-empty).
std::vector<Scene> sample_scenes(std::int64_t count, const ClassPools& pools, core::Rng& rng);

// Writes the scene's 56×56 image: the item of cell (row, column) at offset (28·row, 28·column).
// `images` holds the split's 28×28 images back to back.
void compose_scene(const Scene& scene, std::span<const std::uint8_t> images, std::span<std::uint8_t> out);

// The first `size` scenes (in order) whose class layout no earlier chosen scene has, so every
// full caption in the retrieval pool describes exactly one of its images. Fewer when there are
// not that many distinct layouts.
std::vector<std::int32_t> retrieval_pool(std::span<const Scene> scenes, std::int64_t size);

}  // namespace sieve::data::trifashion
