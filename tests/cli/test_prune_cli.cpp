// `sieve prune` end to end: a tiny trained model pruned by each criterion, to fixed widths and to
// a FLOP target, with and without recovery steps; the pruned directory evaluates, generates,
// quantizes and inspects like any model, the exporters refuse it, and bad input gives clear errors.
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

class PruneCli : public sieve::testing::TrainedModelSuite {
 protected:
  static void SetUpTestSuite() { train_model(31, 30); }
  static std::string prune(const std::string& out_name, const std::string& flags) {
    return "prune --model " + model().string() + " --out " + out(out_name).string() + " " + flags;
  }
  static std::string calibration() {
    return "--calibration " + corpus().string() + " --calibration-batches 2 --calibration-batch 2";
  }
  // The share of FLOPs the summary says were kept.
  static double flops_kept(const std::string& output) {
    std::smatch match;
    EXPECT_TRUE(std::regex_search(output, match, std::regex("\\(([0-9.]+)% kept\\)"))) << output;
    return match.empty() ? 0.0 : std::stod(match[1].str());
  }
};

TEST_F(PruneCli, FixedWidthsGiveAModelThatRunsLikeAnyOther) {
  const CommandResult pruned = run_sieve(prune("fixed", "--heads 2 --ffn-keep 0.5 " + calibration()));
  ASSERT_EQ(pruned.exit_code, 0) << pruned.output;
  EXPECT_NE(pruned.output.find("by activation importance"), std::string::npos) << pruned.output;
  EXPECT_NE(pruned.output.find("parameters: "), std::string::npos) << pruned.output;
  EXPECT_NE(pruned.output.find("layer   1:   2 heads (1 kv), MLP     80"), std::string::npos) << pruned.output;
  EXPECT_LT(flops_kept(pruned.output), 100.0);
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"})
    EXPECT_TRUE(fs::exists(out("fixed") / file)) << file;
  std::ifstream config(out("fixed") / "config.json");
  const std::string text((std::istreambuf_iterator<char>(config)), {});
  EXPECT_NE(text.find("\"pruning\""), std::string::npos) << text;

  const CommandResult evaluated = run_sieve(eval_command(out("fixed"), 8));
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  EXPECT_GT(perplexity_of(evaluated.output), 1.0);
  const CommandResult generated =
      run_sieve("generate --model " + out("fixed").string() + " --prompt 'ab cd' --max-new-tokens 5 --temperature 0");
  EXPECT_EQ(generated.exit_code, 0) << generated.output;
  const CommandResult quantized =
      run_sieve("quantize --model " + out("fixed").string() + " --out " + out("fixed-int8").string() + " --scheme int8");
  ASSERT_EQ(quantized.exit_code, 0) << quantized.output;
  const CommandResult quantized_eval = run_sieve(eval_command(out("fixed-int8"), 8));
  EXPECT_EQ(quantized_eval.exit_code, 0) << quantized_eval.output;
  const CommandResult inspected = run_sieve("inspect " + out("fixed").string());
  EXPECT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("pruned"), std::string::npos) << inspected.output;

  for (const std::string format : {"gguf", "onnx", "pytorch"}) {
    const CommandResult exported = run_sieve("export --model " + out("fixed").string() + " --format " + format +
                                             " --out " + out("fixed." + format).string());
    EXPECT_EQ(exported.exit_code, 2) << format << ": " << exported.output;
    EXPECT_NE(exported.output.find("structurally pruned model"), std::string::npos) << exported.output;
  }
}

TEST_F(PruneCli, TargetFlopsByEachCriterion) {
  for (const std::string criterion : {"taylor", "activation", "magnitude"}) {
    const CommandResult pruned =
        run_sieve(prune("flops-" + criterion, "--target-flops 0.8 --importance " + criterion + " " + calibration()));
    ASSERT_EQ(pruned.exit_code, 0) << pruned.output;
    EXPECT_LE(flops_kept(pruned.output), 80.0) << pruned.output;
    EXPECT_GT(flops_kept(pruned.output), 70.0) << pruned.output;
    const CommandResult evaluated = run_sieve(eval_command(out("flops-" + criterion), 8));
    EXPECT_EQ(evaluated.exit_code, 0) << evaluated.output;
  }
}

TEST_F(PruneCli, DroppingALayerByMagnitudeNeedsNoCalibration) {
  const CommandResult pruned = run_sieve(prune("one-layer", "--layers 1 --importance magnitude"));
  ASSERT_EQ(pruned.exit_code, 0) << pruned.output;
  EXPECT_NE(pruned.output.find("layers: 2 -> 1"), std::string::npos) << pruned.output;
  std::ifstream config(out("one-layer") / "config.json");
  const std::string text((std::istreambuf_iterator<char>(config)), {});
  EXPECT_EQ(text.find("\"pruning\""), std::string::npos) << "a model with whole layers dropped stays a plain config";
  EXPECT_EQ(run_sieve(eval_command(out("one-layer"), 8)).exit_code, 0);
}

TEST_F(PruneCli, RecoverStepsFineTuneThePrunedModel) {
  const CommandResult pruned =
      run_sieve(prune("recovered", "--heads 2 --ffn-keep 0.5 --recover-steps 3 --recover-batch 2 " + calibration()));
  ASSERT_EQ(pruned.exit_code, 0) << pruned.output;
  EXPECT_NE(pruned.output.find("recovery: 3 steps"), std::string::npos) << pruned.output;
  EXPECT_FALSE(fs::exists(out("recovered") / "recover")) << "the recovery run's files are removed";
  const CommandResult plain = run_sieve(prune("unrecovered", "--heads 2 --ffn-keep 0.5 " + calibration()));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  const double before = perplexity_of(run_sieve(eval_command(out("unrecovered"), 8)).output);
  const double after = perplexity_of(run_sieve(eval_command(out("recovered"), 8)).output);
  EXPECT_NE(before, after) << "recovery changed the weights";
}

TEST_F(PruneCli, BadInputGivesClearErrors) {
  const std::string cal = calibration();
  fs::create_directories(out("not-a-model"));
  const CommandResult quantized = run_sieve("quantize --model " + model().string() + " --out " +
                                            out("q-int8").string() + " --scheme int8");
  ASSERT_EQ(quantized.exit_code, 0) << quantized.output;
  struct Case {
    std::string command, message;
  };
  for (const Case& c : {
           Case{prune("e1", cal), "say what to keep"},
           Case{prune("e2", "--heads 0 " + cal), "removes every attention head"},
           Case{prune("e3", "--heads 3 " + cal), "must be a multiple of 2"},
           Case{prune("e4", "--heads 8 " + cal), "has only 4 attention heads"},
           Case{prune("e5", "--ffn-keep 0 " + cal), "--ffn-keep 0 must be a share"},
           Case{prune("e6", "--ffn-keep 1.5 " + cal), "--ffn-keep 1.5 must be a share"},
           Case{prune("e7", "--layers 0 " + cal), "keeps between 1 and 2"},
           Case{prune("e8", "--layers 3 " + cal), "keeps between 1 and 2"},
           Case{prune("e9", "--target-flops 0.01 " + cal), "is below what this model can keep"},
           Case{prune("e10", "--target-flops 0 " + cal), "--target-flops 0 must be"},
           Case{prune("e11", "--target-flops 0.5 --heads 2 " + cal), "combines with --layers only"},
           Case{prune("e12", "--heads 2"), "give --calibration CORPUS"},
           Case{prune("e13", "--heads 2 --importance size " + cal), "--importance must be activation, taylor or magnitude"},
           Case{prune("e14", "--heads 2 --recover-steps -1 " + cal), "--recover-steps must be >= 0"},
           Case{"prune --model " + out("not-a-model").string() + " --out " + out("e15").string() + " --heads 2",
                "is not a model directory"},
           Case{"prune --model " + out("missing").string() + " --out " + out("e16").string() + " --heads 2",
                "no such directory"},
           Case{"prune --model " + out("q-int8").string() + " --out " + out("e17").string() + " --heads 2 " + cal,
                "is a quantized model"},
           Case{"prune --model " + model().string() + " --out " + model().string() + " --heads 2 " + cal,
                "--out must be another directory"},
       }) {
    const CommandResult result = run_sieve(c.command);
    EXPECT_EQ(result.exit_code, 2) << c.command << "\n" << result.output;
    EXPECT_NE(result.output.find(c.message), std::string::npos) << c.command << "\n" << result.output;
  }
  EXPECT_NE(run_sieve("prune --help").output.find("--target-flops"), std::string::npos);
}

}  // namespace
