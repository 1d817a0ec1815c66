#include "sieve/data/trifashion/scenes.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "sieve/core/error.h"

namespace sieve::data::trifashion {

int Scene::count_of(int cls) const { return static_cast<int>(std::count(classes.begin(), classes.end(), cls)); }

ClassPools class_pools(std::span<const std::uint8_t> labels) {
  ClassPools pools;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    SIEVE_CHECK(labels[i] < kClassCount, "label {} at {}", labels[i], i);
    pools[labels[i]].push_back(static_cast<std::int32_t>(i));
  }
  return pools;
}

std::vector<Scene> sample_scenes(std::int64_t count, const ClassPools& pools, core::Rng& rng) {
  for (const auto& pool : pools) SIEVE_CHECK(!pool.empty(), "an empty class pool");
  std::vector<Scene> scenes(count);
  for (Scene& scene : scenes) {
    if (rng.below(2) == 0) {
      for (int& cls : scene.classes) cls = static_cast<int>(rng.below(kClassCount));
    } else {
      const int repeated = static_cast<int>(rng.below(kClassCount));
      const int copies = 2 + static_cast<int>(rng.below(3));
      std::array<int, kPositionCount> cells = {0, 1, 2, 3};
      for (int i = kPositionCount - 1; i > 0; --i) std::swap(cells[i], cells[rng.below(i + 1)]);
      for (int i = 0; i < kPositionCount; ++i) {
        // Another class: uniform over the nine that are not `repeated`.
        const int other = static_cast<int>(rng.below(kClassCount - 1));
        scene.classes[cells[i]] = i < copies ? repeated : (other >= repeated ? other + 1 : other);
      }
    }
    for (int p = 0; p < kPositionCount; ++p) {
      const auto& pool = pools[scene.classes[p]];
      scene.sources[p] = pool[rng.below(pool.size())];
    }
  }
  return scenes;
}

void compose_scene(const Scene& scene, std::span<const std::uint8_t> images, std::span<std::uint8_t> out) {
  constexpr std::size_t kItemPixels = kItemSide * kItemSide;
  SIEVE_CHECK(out.size() == std::size_t{kSceneSide} * kSceneSide, "scene buffer of {} bytes", out.size());
  for (int p = 0; p < kPositionCount; ++p) {
    const std::size_t source = static_cast<std::size_t>(scene.sources[p]);
    SIEVE_CHECK((source + 1) * kItemPixels <= images.size(), "source image {} out of range", source);
    const std::uint8_t* item = images.data() + source * kItemPixels;
    const int row0 = (p / 2) * kItemSide;
    const int col0 = (p % 2) * kItemSide;
    for (int r = 0; r < kItemSide; ++r)
      std::memcpy(out.data() + (row0 + r) * kSceneSide + col0, item + r * kItemSide, kItemSide);
  }
}

std::vector<std::int32_t> retrieval_pool(std::span<const Scene> scenes, std::int64_t size) {
  std::vector<std::int32_t> pool;
  std::set<std::array<int, kPositionCount>> layouts;
  for (std::size_t s = 0; s < scenes.size() && static_cast<std::int64_t>(pool.size()) < size; ++s)
    if (layouts.insert(scenes[s].classes).second) pool.push_back(static_cast<std::int32_t>(s));
  return pool;
}

}  // namespace sieve::data::trifashion
