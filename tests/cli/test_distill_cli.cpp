// `sieve distill` end to end on a tiny teacher: a new student from a preset or a config (a model
// directory with the teacher's tokenizer, evaluated by `eval`), a student directory, an INT8
// teacher, resume that continues bit for bit (with hidden-state matching), and the errors for
// bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "trained_model_suite.h"

namespace sieve::testing {
namespace {

namespace fs = std::filesystem;

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class DistillCli : public TrainedModelSuite {
 protected:
  static void SetUpTestSuite() { train_model(31, 4); }

  // distill from the suite's model into `out`, a few steps of 2 × 32 tokens.
  static std::string distill(const fs::path& out, const std::string& student, int steps = 3) {
    return "distill --teacher " + model().string() + " " + student + " --data " + corpus().string() + " --out " +
           out.string() + " --batch 2 --context 32 --eval-windows 2 --warmup 1 --val-fraction 0.05 --steps " +
           std::to_string(steps);
  }
  // A student config one layer deep and half as wide as the tiny teacher.
  static fs::path small_config() {
    const fs::path path = out("student.json");
    std::ofstream(path) << R"({"vocab_size": 300, "hidden_size": 32, "intermediate_size": 96,
      "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "max_position_embeddings": 64})";
    return path;
  }
};

TEST_F(DistillCli, PresetStudentBecomesAModelDirectory) {
  const fs::path student = out("preset-student");
  const CommandResult r = run_sieve(distill(student, "--student-preset tiny --alpha 0.7 --temperature 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("| ce "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("| kl "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("teacher forward:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("after 3 steps"), std::string::npos) << r.output;
  EXPECT_EQ(bytes_of(student / "tokenizer.model"), bytes_of(model() / "tokenizer.model"));
  const std::string metrics = bytes_of(student / "metrics.jsonl");
  EXPECT_NE(metrics.find("\"kl\":"), std::string::npos) << metrics;
  const CommandResult evaluated = run_sieve(eval_command(student, 4) + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  std::smatch accuracy;
  ASSERT_TRUE(std::regex_search(evaluated.output, accuracy, std::regex("\"top1_accuracy\": ?([0-9.e-]+)")))
      << evaluated.output;
  EXPECT_GE(std::stod(accuracy[1].str()), 0.0);
  EXPECT_LE(std::stod(accuracy[1].str()), 1.0);
  // The JSON and the line report the same perplexity.
  const CommandResult line = run_sieve(eval_command(student, 4));
  ASSERT_EQ(line.exit_code, 0) << line.output;
  std::smatch ppl;
  ASSERT_TRUE(std::regex_search(evaluated.output, ppl, std::regex("\"perplexity\": ?([0-9.]+)"))) << evaluated.output;
  EXPECT_NEAR(std::stod(ppl[1].str()), perplexity_of(line.output), 0.01);
}

TEST_F(DistillCli, SmallerConfigStudentTakesTheTeachersVocabulary) {
  const fs::path student = out("config-student");
  const CommandResult r = run_sieve(distill(student, "--student-config " + small_config().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string config = bytes_of(student / "config.json");
  EXPECT_NE(config.find("\"vocab_size\": " + std::to_string(512)), std::string::npos) << config;
  EXPECT_NE(config.find("\"hidden_size\": 32"), std::string::npos) << config;
  const CommandResult evaluated = run_sieve(eval_command(student, 4));
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  EXPECT_NE(evaluated.output.find("top-1 accuracy"), std::string::npos) << evaluated.output;
}

TEST_F(DistillCli, StudentDirectoryAndInt8Teacher) {
  const fs::path quantized = out("teacher-int8");
  const CommandResult q =
      run_sieve("quantize --model " + model().string() + " --out " + quantized.string() + " --scheme int8");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  const fs::path student = out("dir-student");
  const CommandResult r = run_sieve("distill --teacher " + quantized.string() + " --student " + model().string() +
                                    " --data " + corpus().string() + " --out " + student.string() +
                                    " --batch 2 --context 32 --eval-windows 2 --warmup 1 --steps 2 --alpha 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(student / "model.safetensors"));
  EXPECT_NE(bytes_of(student / "model.safetensors"), bytes_of(model() / "model.safetensors"));
}

// A run resumed from its middle checkpoint ends with the weights of the run that went straight
// through — with hidden-state matching, whose projection the checkpoint must restore too.
TEST_F(DistillCli, ResumeContinuesBitForBit) {
  const fs::path straight = out("straight"), resumed = out("resumed");
  const std::string student =
      "--student-config " + small_config().string() + " --checkpoint-interval 2 --hidden-weight 0.5";
  const CommandResult a = run_sieve(distill(straight, student, 4));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_NE(a.output.find("| hidden "), std::string::npos) << a.output;
  fs::copy(straight, resumed, fs::copy_options::recursive);
  fs::remove_all(resumed / "checkpoints" / "step-00000004");
  fs::remove(resumed / "model.safetensors");
  const CommandResult b = run_sieve(distill(resumed, student, 4) + " --resume");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_NE(b.output.find("resumed from"), std::string::npos) << b.output;
  EXPECT_NE(b.output.find("(step 2)"), std::string::npos) << b.output;
  EXPECT_EQ(bytes_of(resumed / "model.safetensors"), bytes_of(straight / "model.safetensors"));
}

TEST_F(DistillCli, BadInputGivesAClearError) {
  // A student whose tokenizer was trained on another corpus.
  const fs::path other_corpus = out("other.txt");
  write_made_up_corpus(other_corpus, 77);
  const fs::path other = out("other-vocab");
  const CommandResult made = run_sieve("train --data " + other_corpus.string() + " --out " + other.string() +
                                       " --config " + small_config().string() + " --steps 0");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const fs::path empty = out("not-a-model");
  fs::create_directories(empty);
  const std::string student = "--student-preset tiny";
  struct Case {
    std::string args;
    std::string expected;  // part of the message
  };
  const std::vector<Case> cases = {
      {distill(out("e1"), "--student " + other.string()), "another tokenizer"},
      {distill(out("e2"), student + " --alpha 1.5"), "--alpha must be in [0, 1]"},
      {distill(out("e3"), student + " --alpha -0.1"), "--alpha must be in [0, 1]"},
      {distill(out("e4"), student + " --temperature 0"), "--temperature must be a number > 0"},
      {distill(out("e5"), student + " --temperature -2"), "--temperature must be a number > 0"},
      {distill(out("e11"), student + " --hidden-weight -1"), "--hidden-weight must be a number >= 0"},
      {distill(out("e6"), ""), "give one student"},
      {distill(out("e7"), student + " --student-config " + small_config().string()), "excludes"},
      {"distill --teacher " + empty.string() + " " + student + " --data " + corpus().string() + " --out " +
           out("e8").string(),
       "is not a model directory"},
      {"distill --teacher " + corpus().string() + " " + student + " --data " + corpus().string() + " --out " +
           out("e9").string(),
       "is not a directory"},
      {distill(out("e10"), student + " --context 256"), "--context"},
  };
  for (const auto& c : cases) {
    const CommandResult r = run_sieve(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args << ": " << r.output;
    EXPECT_NE(r.exit_code, -1) << c.args << " crashed: " << r.output;
    EXPECT_NE(r.exit_code, 3) << c.args << " reported an internal error: " << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.args << ": " << r.output;
  }
}

TEST_F(DistillCli, Help) {
  const CommandResult r = run_sieve("distill --help");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* flag : {"--teacher", "--student-preset", "--alpha", "--temperature", "--resume", "--grad-accum"})
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace sieve::testing
