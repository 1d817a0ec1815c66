// `sieve export --format onnx` as a user runs it: a tiny trained model and its INT8 quantization
// exported (both graphs written, the summary printed), the same binary — which links protobuf for
// ONNX beside SentencePiece's bundled copy — still loading tokenizers, and bad input answered with
// a clear message and exit code 2, leaving no file. ONNX Runtime checks the graphs' numbers in
// tests/onnx.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "made_up_corpus.h"
#include "run_sieve.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using sieve::testing::CommandResult;
using sieve::testing::run_sieve;

class OnnxCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new sieve::testing::TempDir();
    sieve::testing::write_made_up_corpus(*dir_ / "corpus.txt", 29);
    const CommandResult trained = run_sieve("train --data " + (*dir_ / "corpus.txt").string() + " --out " +
                                            model().string() + " --preset tiny --batch 4 --context 32 --steps 6 " +
                                            "--warmup 1 --val-fraction 0.05 --eval-windows 2");
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path model() { return *dir_ / "model"; }
  static fs::path out(const std::string& name) { return *dir_ / name; }
  static sieve::testing::TempDir* dir_;
};

sieve::testing::TempDir* OnnxCli::dir_ = nullptr;

TEST_F(OnnxCli, ExportsF32AndInt8ModelsAndStillLoadsTokenizers) {
  const CommandResult exported =
      run_sieve("export --model " + model().string() + " --format onnx --out " + out("m.onnx").string());
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_NE(exported.output.find("ONNX opset 17"), std::string::npos) << exported.output;
  EXPECT_TRUE(fs::is_regular_file(out("m.onnx")));
  EXPECT_TRUE(fs::is_regular_file(out("m_with_past.onnx")));

  const CommandResult quantized =
      run_sieve("quantize --model " + model().string() + " --out " + out("int8").string() + " --scheme int8");
  ASSERT_EQ(quantized.exit_code, 0) << quantized.output;
  const CommandResult int8 =
      run_sieve("export --model " + out("int8").string() + " --format onnx --out " + out("int8.onnx").string());
  ASSERT_EQ(int8.exit_code, 0) << int8.output;
  EXPECT_NE(int8.output.find("15 of 15 INT8 Linears"), std::string::npos) << int8.output;

  const CommandResult generated =
      run_sieve("generate --model " + model().string() + " --prompt 'ab cd' --max-new-tokens 4 --seed 1");
  EXPECT_EQ(generated.exit_code, 0) << generated.output;
}

TEST_F(OnnxCli, BadInputIsAClearErrorWithExitCode2AndNoFile) {
  // A local-attention variant of the model (local layers have no extra parameters) and an INT4 one.
  fs::copy(model(), out("local"), fs::copy_options::recursive);
  {
    std::ifstream in(out("local") / "config.json");
    std::string config((std::istreambuf_iterator<char>(in)), {});
    config = std::regex_replace(config, std::regex("\"type\": *\"dense\""), "\"type\": \"local\"");
    std::ofstream(out("local") / "config.json") << config;
  }
  const CommandResult int4 = run_sieve("quantize --model " + model().string() + " --out " + out("int4").string() +
                                       " --scheme int4 --group-size 32");
  ASSERT_EQ(int4.exit_code, 0) << int4.output;
  struct Case {
    std::string args, expected;
  };
  const std::string m = model().string(), target = out("x.onnx").string();
  for (const Case& c : {
           Case{"export --model " + m + " --format onnx --type f16 --out " + target, "--type is for --format gguf"},
           Case{"export --model " + out("absent").string() + " --format onnx --out " + target, "no model directory"},
           Case{"export --model " + m + " --format onnx --out " + out("x.bin").string(), "must name an .onnx file"},
           Case{"export --model " + m + " --format onnx --out " + out("no/such/dir/x.onnx").string(), "does not exist"},
           Case{"export --model " + out("local").string() + " --format onnx --out " + target,
                "layer 0 runs 'local' attention"},
           Case{"export --model " + out("int4").string() + " --format onnx --out " + target,
                "is INT4, which ONNX opset 17 cannot hold"},
       }) {
    const CommandResult result = run_sieve(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.args << "\n" << result.output;
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << c.args << "\n" << result.output;
    EXPECT_EQ(result.output.find("internal error"), std::string::npos) << result.output;
  }
  EXPECT_FALSE(fs::exists(out("x.onnx")));
  EXPECT_FALSE(fs::exists(out("x_with_past.onnx")));
  EXPECT_FALSE(fs::exists(out("x.bin")));
}

}  // namespace
