// `sieve train --task trifashion`, `sieve eval --task trifashion` and `sieve infer` end to end on
// the shared tiny trifashion set (all three stages in seconds with a small model), and their
// refusals of bad flags and files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "run_sieve.h"
#include "shared_trifashion.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using sieve::testing::run_sieve;

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

fs::path tiny_data() {
  return sieve::testing::shared_tiny_trifashion([](const fs::path& out) {
    const auto result = run_sieve("data build trifashion --size tiny --seed 1 --force --out " + out.string());
    ASSERT_EQ(result.exit_code, 0) << result.output;
  });
}

// A binary PGM of side × side pixels, a diagonal stripe on black.
void write_pgm(const fs::path& path, int side) {
  std::ofstream out(path, std::ios::binary);
  out << "P5\n" << side << " " << side << "\n255\n";
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) out.put(static_cast<char>(std::abs(x - y) < 3 ? 220 : 0));
}

const std::string kSmallModel = " --hidden-size 32 --layers 1 --fusion-layers 1 --batch 4 --eval-limit 8";

class TrifashionCli : public ::testing::Test {
 protected:
  // The run is shared by the tests (and test processes) through the test cache; its output is
  // kept beside it for the test that reads it.
  static void SetUpTestSuite() {
    if (!sieve::testing::trifashion_sources_installed()) return;
    dir_ = new sieve::testing::TempDir();
    data_ = new fs::path(tiny_data());
    run_ = new fs::path(sieve::testing::shared_test_artifact("trifashion-tiny-run", "trifashion.json", [](const fs::path& out) {
      fs::remove_all(out);
      const auto result = run_sieve("train --task trifashion --data " + data_->string() + " --out " + out.string() +
                                    " --stages 1,2,3 --steps-per-stage 2" + kSmallModel);
      std::ofstream(out.string() + ".log") << result.exit_code << "\n" << result.output;
    }));
    std::ifstream log(run_->string() + ".log");
    log >> train_exit_;
    train_output_ = new std::string(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete data_;
    delete train_output_;
    delete run_;
  }
  void SetUp() override {
    if (!sieve::testing::trifashion_sources_installed())
      GTEST_SKIP() << "dataset-fashion-mnist, wordnet-base, espeak-ng or sox is not installed";
    ASSERT_EQ(train_exit_, 0) << *train_output_;
  }
  static std::string run() { return run_->string(); }

  static sieve::testing::TempDir* dir_;
  static fs::path* data_;
  static fs::path* run_;
  static std::string* train_output_;
  static int train_exit_;
};

sieve::testing::TempDir* TrifashionCli::dir_ = nullptr;
fs::path* TrifashionCli::data_ = nullptr;
fs::path* TrifashionCli::run_ = nullptr;
std::string* TrifashionCli::train_output_ = nullptr;
int TrifashionCli::train_exit_ = -1;

TEST_F(TrifashionCli, TrainsAllThreeStagesIntoAModelDirectory) {
  for (const char* line : {"stage 1 (unimodal): 2 steps", "stage 2 (alignment): 2 steps", "stage 3 (fusion): 2 steps",
                           "model saved to", "\"vqa_accuracy\""})
    EXPECT_TRUE(contains(*train_output_, line)) << line << "\n" << *train_output_;
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.model", "trifashion.json",
                           "stage-3-fusion/metrics.jsonl"})
    EXPECT_TRUE(fs::exists(fs::path(run()) / file)) << file;
  // Not over a finished run without --resume; with it, the finished stages are skipped.
  // On a copy: the shared run is read by the other tests meanwhile.
  fs::copy(*run_, *dir_ / "copy", fs::copy_options::recursive);
  const std::string again = "train --task trifashion --data " + data_->string() + " --out " + (*dir_ / "copy").string() +
                            " --stages 1,2,3 --steps-per-stage 2" + kSmallModel;
  auto result = run_sieve(again);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "--resume")) << result.output;
  result = run_sieve(again + " --resume");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "stage 3 (fusion): finished in an earlier run")) << result.output;
}

TEST_F(TrifashionCli, EvalPrintsEveryMeasurementAsJson) {
  const auto result = run_sieve("eval --task trifashion --model " + run() + " --data " + data_->string() + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* key : {"\"fashion_accuracy\":", "\"retrieval_r1\":", "\"matching_f1\":", "\"spoken_word_accuracy\":",
                          "\"vqa_accuracy\":", "\"alphas\":", "\"vqa_by_type\":"})
    EXPECT_TRUE(contains(result.output, key)) << key << "\n" << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  const auto text = run_sieve("eval --task trifashion --model " + run() + " --data " + data_->string() +
                              " --question-inputs image --limit 20");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_TRUE(contains(text.output, "questions: image)") && contains(text.output, "VQA")) << text.output;
}

TEST_F(TrifashionCli, InferReadsImagesWavsAndTexts) {
  write_pgm(*dir_ / "item.pgm", 28);
  write_pgm(*dir_ / "scene.pgm", 56);
  const std::string wav = (*data_ / "audio" / "wav" / "clip-000000.wav").string();
  auto result = run_sieve("infer --model " + run() + " --image " + (*dir_ / "item.pgm").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "image: ")) << result.output;
  result = run_sieve("infer --model " + run() + " --audio " + wav + " --text 'a bag' --text sandal");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "spoken word: ") && contains(result.output, "\"sandal\": audio similarity"))
      << result.output;
  result = run_sieve("infer --model " + run() + " --image " + (*dir_ / "scene.pgm").string() +
                     " --text 'a bag top-left and a dress bottom-right' --question 'what is top-left?' --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* key : {"\"cells\":", "\"match_probability\":", "\"answer\":"})
    EXPECT_TRUE(contains(result.output, key)) << key << "\n" << result.output;
  // The WAV as the spoken question about the scene.
  result = run_sieve("infer --model " + run() + " --image " + (*dir_ / "scene.pgm").string() + " --audio " + wav);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "answer: ")) << result.output;
}

TEST_F(TrifashionCli, RefusesBadFlagsAndFiles) {
  const std::string train = "train --task trifashion --data " + data_->string() + " --out " + (*dir_ / "x").string();
  const std::pair<std::string, std::string> cases[] = {
      {train + " --steps 5", "--steps-per-stage"},
      {train + " --stages 1,4", "stage 4 does not exist"},
      {train + " --stages 2,1", "increasing order"},
      {train + " --fusion sum", "--fusion must be cmaf, fixed or concat"},
      {train + " --question-inputs image,smell", "'smell' is not a modality"},
      {train + " --question-inputs image --corrupt text", "not among the question inputs"},
      {train + " --steps-per-stage 2,2", "one per stage"},
      {"train --task trifashion --data " + (*dir_ / "missing").string() + " --out " + (*dir_ / "y").string(),
       "missing"},
      {"train --task images --data x --out y", "--task must be lm or trifashion"},
      {"train --dataset gcide --out " + (*dir_ / "z").string() + " --fusion concat", "is a flag of --task trifashion"},
      {"eval --task trifashion --model " + (*dir_ / "nothing").string() + " --data " + data_->string(), "nothing"},
      {"infer --model " + run(), "give --image FILE and/or --audio FILE"},
      {"infer --model " + run() + " --image " + (*dir_ / "none.png").string(), "none.png"},
      {"infer --model " + run() + " --audio " + (*data_ / "manifest.json").string(), "manifest.json"},
      {"infer --model " + run() + " --question 'what is top-left?' --audio " +
           (*data_ / "audio" / "wav" / "clip-000000.wav").string(),
       "--question asks about an --image"},
  };
  for (const auto& [command, message] : cases) {
    const auto result = run_sieve(command);
    EXPECT_EQ(result.exit_code, 2) << command << "\n" << result.output;
    EXPECT_TRUE(contains(result.output, "sieve: error:") && contains(result.output, message))
        << command << "\n" << message << "\n" << result.output;
  }
  write_pgm(*dir_ / "odd.pgm", 30);
  const auto result = run_sieve("infer --model " + run() + " --image " + (*dir_ / "odd.pgm").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "a 30×30 image")) << result.output;
}

}  // namespace
