// `sieve data`: builds the data sets that are made rather than read (a corpus file needs no
// build; see data/dataset_registry.h for those).
//
//   sieve data list
//   sieve data build trifashion --out data/trifashion [--size small|full|tiny] [--seed 1]
//   sieve data check trifashion data/trifashion
//
// Each buildable data set is one entry in kDataSets: its name, a line for `list`, and the
// functions that add `sieve data build <name>` with its flags and `sieve data check <name> DIR`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "apps/sieve/verbs.h"
#include "sieve/data/trifashion/builder.h"
#include "sieve/data/trifashion/dataset.h"

namespace sieve::apps {
namespace {

void add_trifashion_build(CLI::App& build) {
  auto* cmd = build.add_subcommand(
      "trifashion",
      "Fashion-MNIST items, 2x2 scenes, captions, VQA questions, matching pairs and utterances for the "
      "multimodal model (docs/multimodal.md, Data)");
  auto options = std::make_shared<data::trifashion::BuildOptions>();
  auto fashion_dir = std::make_shared<std::string>(options->fashion_dir.string());
  auto wordnet_dir = std::make_shared<std::string>(options->wordnet_dir.string());
  auto out = std::make_shared<std::string>();
  cmd->add_option("--out,-o", *out, "Directory to write (built beside it, then renamed into place)")->required();
  std::string sizes;
  for (const auto& preset : data::trifashion::size_presets()) sizes += (sizes.empty() ? "" : "|") + std::string(preset.name);
  cmd->add_option("--size", options->size, "Data set size: " + sizes + " (tiny is for tests)")->capture_default_str();
  cmd->add_option("--seed", options->seed, "Seed of every random choice (same seed, same files)")->capture_default_str();
  cmd->add_option("--fashion-dir", *fashion_dir, "Directory of Fashion-MNIST's four IDX .gz files")
      ->capture_default_str();
  cmd->add_option("--wordnet-dir", *wordnet_dir, "WordNet 3 dictionary directory (index.noun, data.noun)")
      ->capture_default_str();
  cmd->add_flag("--force", options->force, "Replace --out if it exists and is not empty");
  cmd->callback([options, out, fashion_dir, wordnet_dir] {
    // Validated before any work, so a typo fails at once.
    data::trifashion::size_preset(options->size);
    options->out = *out;
    options->fashion_dir = *fashion_dir;
    options->wordnet_dir = *wordnet_dir;
    const auto start = std::chrono::steady_clock::now();
    options->progress = [start](const std::string& line) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("[%6.1f s] %s\n", seconds, line.c_str());
      std::fflush(stdout);
    };
    const auto summary = data::trifashion::build(*options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("wrote %s (size %s, seed %llu) in %.1f s, %.1f MB\n", out->c_str(), options->size.c_str(),
                static_cast<unsigned long long>(options->seed), seconds, summary.bytes / 1e6);
    std::printf("  classification images  %lld train, %lld test\n", static_cast<long long>(summary.classification_train),
                static_cast<long long>(summary.classification_test));
    std::printf("  scenes                 %lld train, %lld test (retrieval pool %lld)\n",
                static_cast<long long>(summary.scenes_train), static_cast<long long>(summary.scenes_test),
                static_cast<long long>(summary.retrieval_pool));
    std::printf("  captions               %lld (%lld held-out phrasing)\n", static_cast<long long>(summary.captions),
                static_cast<long long>(summary.heldout_captions));
    std::printf("  questions              %lld (%lld held-out phrasing)\n", static_cast<long long>(summary.questions),
                static_cast<long long>(summary.heldout_questions));
    std::printf("  matching pairs         %lld\n", static_cast<long long>(summary.pairs));
    std::printf("  utterances             %lld\n", static_cast<long long>(summary.utterances));
    std::printf("  tokenizer              %lld pieces\n", static_cast<long long>(summary.tokenizer_vocab));
    std::printf("  spoken clips           %lld (%.0f s of speech)\n", static_cast<long long>(summary.clips),
                summary.audio_seconds);
  });
}

// Loads the directory through the reader the trainer uses, which validates every file.
void add_trifashion_check(CLI::App& check) {
  auto* cmd = check.add_subcommand("trifashion", "Validate a trifashion directory and print what it holds");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("dir", *dir, "The data directory")->required();
  cmd->callback([dir] {
    const auto data = data::trifashion::load(*dir);
    const auto heldout = [](const auto& records) {
      return std::count_if(records.begin(), records.end(), [](const auto& r) { return r.heldout; });
    };
    std::printf("%s: trifashion, size %s, seed %llu: valid\n", dir->c_str(), data.size.c_str(),
                static_cast<unsigned long long>(data.seed));
    for (const auto* split : {&data.train, &data.test})
      std::printf("  %-5s %lld images, %lld scenes, %zu captions (%td held-out), %zu questions (%td held-out), %zu pairs\n",
                  split == &data.train ? "train" : "test", static_cast<long long>(split->classification.images.count),
                  static_cast<long long>(split->scenes.images.count), split->captions.size(), heldout(split->captions),
                  split->questions.size(), heldout(split->questions), split->pairs.size());
    std::printf("  retrieval pool %zu, utterances %zu, spoken clips %zu (%zu voices)\n", data.retrieval_pool.size(),
                data.utterances.size(), data.spoken.clips.size(), data.spoken.voices.size());
  });
}

struct DataSetEntry {
  const char* name;
  const char* summary;
  void (*add_build)(CLI::App& build);
  void (*add_check)(CLI::App& check);
};

constexpr DataSetEntry kDataSets[] = {
    {"trifashion", "images, text and utterances for the multimodal model (Fashion-MNIST + WordNet)",
     add_trifashion_build, add_trifashion_check},
};

}  // namespace

void add_data_verb(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Build the data sets that Sieve makes from local packages");
  data->require_subcommand(1);
  auto* build = data->add_subcommand("build", "Build a data set into a directory");
  build->require_subcommand(1);
  auto* check = data->add_subcommand("check", "Validate a built data set directory");
  check->require_subcommand(1);
  for (const DataSetEntry& entry : kDataSets) {
    entry.add_build(*build);
    entry.add_check(*check);
  }
  data->add_subcommand("list", "List the data sets `sieve data build` makes")->callback([] {
    for (const DataSetEntry& entry : kDataSets) std::printf("%-12s %s\n", entry.name, entry.summary);
  });
}

}  // namespace sieve::apps
