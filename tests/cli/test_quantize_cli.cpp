// `sieve quantize` end to end: a tiny trained model quantized to int8 (dynamic and static
// activations) and int4, then evaluated, inspected, generated from and benchmarked like any
// model directory; bad flags and verbs that need the f32 model give clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "run_sieve.h"
#include "trained_model_suite.h"

namespace {

namespace fs = std::filesystem;
using sieve::testing::CommandResult;
using sieve::testing::perplexity_of;
using sieve::testing::run_sieve;

class QuantizeCli : public sieve::testing::TrainedModelSuite {
 protected:
  static void SetUpTestSuite() { train_model(21, 30); }
  static std::string eval(const fs::path& dir) { return eval_command(dir, 16); }
};

TEST_F(QuantizeCli, QuantizedDirectoriesRunLikeAnyModel) {
  const CommandResult f32_eval = run_sieve(eval(model()));
  ASSERT_EQ(f32_eval.exit_code, 0) << f32_eval.output;
  const double f32_ppl = perplexity_of(f32_eval.output);
  struct Case {
    std::string name, flags;
    double max_ppl_ratio;
  };
  for (const Case& c : {Case{"int8", "--scheme int8", 1.01},
                        Case{"int8-static", "--scheme int8 --activations static --calibration " + corpus().string() +
                                                " --calibration-context 32",
                             1.02},
                        Case{"int4", "--scheme int4 --group-size 32", 1.10}}) {
    const CommandResult q = run_sieve("quantize --model " + model().string() + " --out " + out(c.name).string() + " " +
                                      c.flags);
    ASSERT_EQ(q.exit_code, 0) << q.output;
    EXPECT_NE(q.output.find("quantized 15 Linear layers"), std::string::npos) << q.output;
    for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"})
      EXPECT_TRUE(fs::exists(out(c.name) / file)) << c.name << " " << file;

    const CommandResult evaluated = run_sieve(eval(out(c.name)));
    ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
    const double ppl = perplexity_of(evaluated.output);
    EXPECT_LT(ppl, f32_ppl * c.max_ppl_ratio) << c.name << ": " << evaluated.output;

    const CommandResult inspected = run_sieve("inspect " + out(c.name).string());
    ASSERT_EQ(inspected.exit_code, 0) << inspected.output;
    EXPECT_NE(inspected.output.find("model.layers.1.mlp.down_proj"), std::string::npos) << inspected.output;
    EXPECT_NE(inspected.output.find(c.name == "int4" ? "int4 g32" : c.name == "int8" ? "int8 " : "int8 static"),
              std::string::npos)
        << inspected.output;
    EXPECT_NE(inspected.output.find("size on disk"), std::string::npos) << inspected.output;
    EXPECT_NE(inspected.output.find("smaller than the f32 weights"), std::string::npos) << inspected.output;

    const CommandResult generated =
        run_sieve("generate --model " + out(c.name).string() + " --prompt 'ab cd' --max-new-tokens 8 --seed 1");
    ASSERT_EQ(generated.exit_code, 0) << generated.output;
    EXPECT_EQ(generated.output.rfind("ab cd", 0), 0u) << generated.output;
  }
  const CommandResult plain = run_sieve("inspect " + model().string());
  EXPECT_NE(plain.output.find("f32 (not quantized)"), std::string::npos) << plain.output;
}

TEST_F(QuantizeCli, BenchDecodeAndPrefillTakeAModelDirectory) {
  const CommandResult q =
      run_sieve("quantize --model " + model().string() + " --out " + out("bench-int4").string() + " --scheme int4");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  for (const auto& [dir, precision] : {std::pair{model(), "f32"}, std::pair{out("bench-int4"), "int4"}}) {
    const CommandResult decode = run_sieve("bench decode --model " + dir.string() + " --context 16 --tokens 4 --json");
    ASSERT_EQ(decode.exit_code, 0) << decode.output;
    EXPECT_NE(decode.output.find("\"ms_per_token\""), std::string::npos) << decode.output;
    EXPECT_NE(decode.output.find(std::string("\"precision\":\"") + precision + "\""), std::string::npos)
        << decode.output;
    const CommandResult prefill = run_sieve("bench prefill --model " + dir.string() + " --context 64 --repeats 1 --json");
    ASSERT_EQ(prefill.exit_code, 0) << prefill.output;
    EXPECT_NE(prefill.output.find("\"tokens_per_s\""), std::string::npos) << prefill.output;
  }
  const CommandResult in_memory = run_sieve("bench prefill --preset tiny --scheme int8 --context 32 --repeats 1 --json");
  ASSERT_EQ(in_memory.exit_code, 0) << in_memory.output;
  EXPECT_NE(in_memory.output.find("\"precision\":\"int8\""), std::string::npos) << in_memory.output;
}

TEST_F(QuantizeCli, AMixedPlanFromAFile) {
  const fs::path plan = out("mixed.json");
  std::ofstream(plan) << R"({"scheme": "mixed", "group_size": 32,
      "layers": {"model.layers.0.mlp.down_proj": "int4", "lm_head": "int8", "model.layers.1.self_attn.q_proj": "f32"}})";
  const CommandResult q = run_sieve("quantize --model " + model().string() + " --out " + out("mixed").string() +
                                    " --scheme mixed --plan " + plan.string());
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find("quantized 2 Linear layers (mixed)"), std::string::npos) << q.output;
  const CommandResult inspected = run_sieve("inspect " + out("mixed").string());
  ASSERT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("scheme mixed"), std::string::npos) << inspected.output;
  EXPECT_NE(inspected.output.find("int4 g32"), std::string::npos) << inspected.output;
  EXPECT_EQ(run_sieve(eval(out("mixed"))).exit_code, 0);
}

TEST_F(QuantizeCli, SensitivityAnalysisAndAMixedPlanWithinABudget) {
  const std::string data = " --calibration " + corpus().string() + " --calibration-context 32 --calibration-windows 8";
  const CommandResult analyzed =
      run_sieve("quantize --model " + model().string() + " --out " + out("analysis").string() + " --analyze" + data);
  ASSERT_EQ(analyzed.exit_code, 0) << analyzed.output;
  EXPECT_NE(analyzed.output.find("| model.layers.0.self_attn.q_proj | int8 |"), std::string::npos) << analyzed.output;
  EXPECT_NE(analyzed.output.find("| mlp (group) | int4 |"), std::string::npos) << analyzed.output;
  EXPECT_TRUE(fs::exists(out("analysis") / "sensitivity.md"));
  std::ifstream json_file(out("analysis") / "sensitivity.json");
  const std::string json((std::istreambuf_iterator<char>(json_file)), std::istreambuf_iterator<char>());
  // 15 Linears at int8 and int4, then attention, mlp and all at both.
  const std::regex delta_loss("\"delta_loss\"");
  EXPECT_EQ(std::distance(std::sregex_iterator(json.begin(), json.end(), delta_loss), std::sregex_iterator()), 36)
      << json;
  EXPECT_FALSE(fs::exists(out("analysis") / "model.safetensors"));

  const CommandResult mixed = run_sieve("quantize --model " + model().string() + " --out " + out("budget").string() +
                                        " --scheme mixed --max-ppl-increase 3" + data);
  ASSERT_EQ(mixed.exit_code, 0) << mixed.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(mixed.output, match, std::regex("whole plan = perplexity ([-+0-9.]+)%"))) << mixed.output;
  EXPECT_LE(std::stod(match[1]), 3.0) << mixed.output;
  EXPECT_TRUE(fs::exists(out("budget") / "mixed_plan.json"));
  const CommandResult inspected = run_sieve("inspect " + out("budget").string());
  ASSERT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("scheme mixed"), std::string::npos) << inspected.output;
  EXPECT_EQ(run_sieve(eval(out("budget"))).exit_code, 0);
}

TEST_F(QuantizeCli, QatFinetuneThenQuantize) {
  const CommandResult tuned =
      run_sieve("finetune --model " + model().string() + " --data " + corpus().string() + " --out " +
                out("qat").string() + " --qat int4 --qat-group-size 32 --steps 3 --batch 2 --context 32 --warmup 1 "
                "--val-fraction 0.05 --eval-windows 4");
  ASSERT_EQ(tuned.exit_code, 0) << tuned.output;
  EXPECT_NE(tuned.output.find("QAT: int4 fake quantization on 15 linear layers"), std::string::npos) << tuned.output;
  EXPECT_NE(tuned.output.find("--scheme int4 --group-size 32"), std::string::npos) << tuned.output;
  const CommandResult q = run_sieve("quantize --model " + out("qat").string() + " --out " + out("qat-int4").string() +
                                    " --scheme int4 --group-size 32");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_EQ(run_sieve(eval(out("qat-int4"))).exit_code, 0);
  const CommandResult with_lora = run_sieve("finetune --model " + model().string() + " --data " + corpus().string() +
                                            " --out " + out("qat-lora").string() + " --qat int8 --lora --steps 1");
  EXPECT_EQ(with_lora.exit_code, 2) << with_lora.output;
  EXPECT_NE(with_lora.output.find("does not combine with --lora"), std::string::npos) << with_lora.output;
}

TEST_F(QuantizeCli, BadInputGivesAClearError) {
  const fs::path plan = out("plan.json");
  std::ofstream(plan) << R"({"scheme": "mixed", "layers": {"model.layers.5.mlp.up_proj": "int8"}})";
  const CommandResult q =
      run_sieve("quantize --model " + model().string() + " --out " + out("for-errors").string() + " --scheme int8");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  const std::string base = "quantize --model " + model().string() + " --out " + out("bad").string();
  const std::pair<std::string, std::string> cases[] = {
      {base + " --scheme int3", "--scheme must be int8, int4 or mixed"},
      {base + " --scheme int4 --group-size 48", "group_size 48"},
      {base + " --scheme int8 --activations static", "--calibration CORPUS"},
      {base + " --scheme int8 --calibration " + corpus().string(), "--calibration goes with --activations static"},
      {base + " --analyze", "measures the loss on --calibration CORPUS"},
      {base + " --scheme int8 --max-ppl-increase 1", "--max-ppl-increase goes with --scheme mixed"},
      {base + " --scheme mixed --max-ppl-increase -1 --calibration " + corpus().string(), "--max-ppl-increase"},
      {base + " --scheme mixed", "--plan FILE"},
      {base + " --scheme mixed --plan " + plan.string(), "'model.layers.5.mlp.up_proj' is not a Linear"},
      {"quantize --model " + model().string() + " --out " + model().string() + " --scheme int8", "--out must be"},
      {"quantize --model " + out("for-errors").string() + " --out " + out("twice").string() + " --scheme int4",
       "describes a quantized model"},
      {"finetune --model " + out("for-errors").string() + " --data " + corpus().string() + " --out " +
           out("ft").string() + " --lora --steps 1",
       "describes a quantized model"},
  };
  for (const auto& [args, expected] : cases) {
    const CommandResult r = run_sieve(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << ": " << r.output;
  }
  const CommandResult help = run_sieve("quantize --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--scheme"), std::string::npos) << help.output;
}

}  // namespace
