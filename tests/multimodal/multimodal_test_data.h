// The shared tiny trifashion data set (shared_trifashion.h), loaded once per test process, and a
// trimodal config small enough to train on it in seconds.
#pragma once

#include "shared_trifashion.h"
#include "sieve/data/trifashion/builder.h"
#include "sieve/data/trifashion/dataset.h"
#include "sieve/nn/models/trimodal/trimodal_config.h"

namespace sieve::testing {

inline const data::trifashion::Dataset& tiny_trifashion_dataset() {
  static const data::trifashion::Dataset dataset = data::trifashion::load(shared_tiny_trifashion([](const auto& out) {
    data::trifashion::BuildOptions options;
    options.out = out;
    options.size = "tiny";
    options.seed = 1;
    options.force = true;
    data::trifashion::build(options);
  }));
  return dataset;
}

inline nn::TriModalConfig small_trifashion_config(nn::FusionMode fusion = nn::FusionMode::kCmaf) {
  nn::TriModalConfig c;
  c.hidden_size = 32;
  c.num_layers = 1;
  c.num_heads = 2;
  c.intermediate_size = 64;
  c.image_channels = 8;
  c.audio_channels = 8;
  c.fusion_layers = 1;
  c.embed_dim = 32;
  c.fusion = fusion;
  return c;
}

#define SKIP_WITHOUT_TRIFASHION_SOURCES()               \
  if (!::sieve::testing::trifashion_sources_installed()) \
  GTEST_SKIP() << "dataset-fashion-mnist, wordnet-base, espeak-ng or sox is not installed"

}  // namespace sieve::testing
