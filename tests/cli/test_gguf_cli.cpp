// `sieve export --format gguf` and `sieve import --from gguf` in the forms the issue checks: a
// tiny trained model exported in every type, imported back into a directory that evaluates (the
// same perplexity for f32), generates and benchmarks like any; a quantized directory exported;
// and bad input answered with a clear message and exit code 2, never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "run_sieve.h"
#include "trained_model_suite.h"

namespace {

namespace fs = std::filesystem;
using sieve::testing::CommandResult;
using sieve::testing::perplexity_text;
using sieve::testing::run_sieve;

class GgufCli : public sieve::testing::TrainedModelSuite {
 protected:
  static void SetUpTestSuite() { train_model(23, 20); }
  static std::string eval(const fs::path& dir) { return eval_command(dir, 8); }
};

TEST_F(GgufCli, ExportEveryTypeAndImportBack) {
  const CommandResult original = run_sieve(eval(model()));
  ASSERT_EQ(original.exit_code, 0) << original.output;
  for (const std::string type : {"f32", "f16", "q8_0", "q4_0"}) {
    const fs::path gguf = out("m-" + type + ".gguf");
    const CommandResult exported = run_sieve("export --model " + model().string() + " --format gguf --type " + type +
                                             " --out " + gguf.string());
    ASSERT_EQ(exported.exit_code, 0) << exported.output;
    EXPECT_NE(exported.output.find("GGUF, llama architecture"), std::string::npos) << exported.output;
    const std::string counts = type == "f32" ? "21 f32" : type == "f16" ? "16 f16, 5 f32" : "5 f32, 16 " + type;
    EXPECT_NE(exported.output.find(counts), std::string::npos)
        << exported.output;

    const fs::path imported = out("imported-" + type);
    const CommandResult back = run_sieve("import --from gguf " + gguf.string() + " --out " + imported.string());
    ASSERT_EQ(back.exit_code, 0) << back.output;
    EXPECT_NE(back.output.find("2 layers, hidden 64, 4/2 heads, vocab 512"), std::string::npos) << back.output;
    const CommandResult evaluated = run_sieve(eval(imported));
    ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
    if (type == "f32") {
      EXPECT_EQ(perplexity_text(evaluated.output), perplexity_text(original.output));
    }
  }
  const fs::path imported = out("imported-q8_0");
  const CommandResult generated =
      run_sieve("generate --model " + imported.string() + " --prompt 'ab cd' --max-new-tokens 6 --seed 1");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_EQ(generated.output.rfind("ab cd", 0), 0u) << generated.output;
  const CommandResult decode = run_sieve("bench decode --model " + imported.string() + " --context 16 --tokens 4 --json");
  ASSERT_EQ(decode.exit_code, 0) << decode.output;
  EXPECT_NE(decode.output.find("\"ms_per_token\""), std::string::npos) << decode.output;
  const CommandResult inspected = run_sieve("inspect " + imported.string());
  EXPECT_EQ(inspected.exit_code, 0) << inspected.output;
}

TEST_F(GgufCli, QuantizedDirectoriesExport) {
  for (const auto& [scheme, type] : {std::pair{"int8", "q8_0"}, std::pair{"int4", "q4_0"}, std::pair{"int4", "q8_0"}}) {
    const fs::path quantized = out(std::string("quantized-") + scheme);
    if (!fs::exists(quantized)) {
      const CommandResult q = run_sieve("quantize --model " + model().string() + " --out " + quantized.string() +
                                        " --scheme " + scheme + " --group-size 32");
      ASSERT_EQ(q.exit_code, 0) << q.output;
    }
    const fs::path gguf = out(std::string(scheme) + "-" + type + ".gguf");
    const CommandResult exported = run_sieve("export --model " + quantized.string() + " --format gguf --type " + type +
                                             " --out " + gguf.string());
    ASSERT_EQ(exported.exit_code, 0) << exported.output;
    const CommandResult back = run_sieve("import --from gguf " + gguf.string() + " --out " + out("back").string());
    ASSERT_EQ(back.exit_code, 0) << back.output;
    EXPECT_EQ(run_sieve(eval(out("back"))).exit_code, 0);
  }
}

TEST_F(GgufCli, VerbsHaveHelp) {
  for (const char* verb : {"export", "import"}) {
    const CommandResult help = run_sieve(std::string(verb) + " --help");
    EXPECT_EQ(help.exit_code, 0) << help.output;
    EXPECT_NE(help.output.find("Usage"), std::string::npos) << help.output;
    EXPECT_NE(help.output.find("gguf"), std::string::npos) << help.output;
  }
}

TEST_F(GgufCli, BadInputIsAClearErrorWithExitCode2) {
  std::ofstream(out("garbage.gguf")) << "this is not a model";
  {
    std::ifstream good(out("m-f32.gguf").string(), std::ios::binary);
    if (!good) {
      ASSERT_EQ(run_sieve("export --model " + model().string() + " --format gguf --out " + out("m-f32.gguf").string())
                    .exit_code,
                0);
      good.open(out("m-f32.gguf").string(), std::ios::binary);
    }
    const std::string bytes(std::istreambuf_iterator<char>(good), {});
    std::ofstream(out("truncated.gguf"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  struct Case {
    std::string args, expected;
  };
  const std::string m = model().string();
  for (const Case& c : {
           Case{"export --model " + m + " --format onnnx --out x", "--format must be one of gguf, onnx, pytorch, got 'onnnx'"},
           Case{"export --model " + m + " --format gguf --type q4_k --out x.gguf", "--type must be f32, f16, q8_0 or q4_0"},
           Case{"export --model " + out("absent").string() + " --format gguf --out x.gguf", "no model directory"},
           Case{"export --model " + m + " --format gguf --out " + out("no/such/dir/m.gguf").string(), "no/such/dir"},
           Case{"import --from ggml " + out("m-f32.gguf").string() + " --out x", "--from must be one of gguf, pytorch, got 'ggml'"},
           Case{"export --model " + m + " --format pytorch --type f16 --out x.bin", "--type is for --format gguf"},
           Case{"import --from gguf " + out("m-f32.gguf").string() + " --config c.json --out " + out("x").string(),
                "--config and --tokenizer are for --from pytorch"},
           Case{"import --from gguf " + out("absent.gguf").string() + " --out " + out("x").string(), "cannot open"},
           Case{"import --from gguf " + out("garbage.gguf").string() + " --out " + out("x").string(),
                "not a GGUF file"},
           Case{"import --from gguf " + out("truncated.gguf").string() + " --out " + out("x").string(), "truncated"},
           Case{"import --from gguf " + out("m-f32.gguf").string() + " --out " + out("x").string() +
                    " --max-model-bytes 1K",
                "--max-model-bytes"},
       }) {
    const CommandResult result = run_sieve(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.args << "\n" << result.output;
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << c.args << "\n" << result.output;
    EXPECT_EQ(result.output.find("internal error"), std::string::npos) << result.output;
  }
  EXPECT_FALSE(fs::exists(out("x") / "model.safetensors"));
}

}  // namespace
