// `sieve export --format pytorch` and `sieve import --from pytorch` end to end: a tiny trained
// model exports to a checkpoint PyTorch loads, imports back into a directory that evaluates,
// generates and benchmarks like the original with the same numbers; bad input — a missing config
// or tokenizer, a hostile or damaged checkpoint, a quantized model, an unknown format — is a clear
// error with exit code 2, and a hostile checkpoint runs nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "run_sieve.h"
#include "trained_model_suite.h"
#include "torch_python.h"

namespace {

namespace fs = std::filesystem;
using sieve::testing::CommandResult;
using sieve::testing::run_sieve;

class PyTorchCli : public sieve::testing::TrainedModelSuite {
 protected:
  static void SetUpTestSuite() { train_model(5, 4); }
  static std::string with_companions() {
    return " --config " + (model() / "config.json").string() + " --tokenizer " + (model() / "tokenizer.model").string();
  }
  // A failing command: exit code 2 (a user error, not a crash or an internal error) and `message`.
  static void expect_user_error(const std::string& args, const std::string& message) {
    const CommandResult result = run_sieve(args);
    EXPECT_EQ(result.exit_code, 2) << args << "\n" << result.output;
    EXPECT_NE(result.output.find(message), std::string::npos) << args << "\n" << result.output;
  }
};

TEST_F(PyTorchCli, ExportedModelImportsBackAndRunsTheSame) {
  const fs::path checkpoint = out("exported.bin"), back = out("back");
  const CommandResult exported =
      run_sieve("export --model " + model().string() + " --format pytorch --out " + checkpoint.string());
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_NE(exported.output.find("weights_only=True"), std::string::npos) << exported.output;
  // PyTorch reads it with its own restricted loader (the logits are compared in test_convert_torch).
  sieve::testing::run_torch_script("logits " + checkpoint.string() + " " + (model() / "config.json").string() + " " +
                                   out("torch.safetensors").string());

  const CommandResult imported =
      run_sieve("import --from pytorch " + checkpoint.string() + " --out " + back.string() + with_companions());
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_NE(imported.output.find("imported"), std::string::npos) << imported.output;

  const auto eval = [](const fs::path& dir) {
    return run_sieve("eval --model " + dir.string() + " --data " + corpus().string() +
                     " --split all --context 32 --max-windows 4");
  };
  const CommandResult before = eval(model()), after = eval(back);
  ASSERT_EQ(after.exit_code, 0) << after.output;
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(before.output, a, std::regex("perplexity [0-9.]+"))) << before.output;
  ASSERT_TRUE(std::regex_search(after.output, b, std::regex("perplexity [0-9.]+"))) << after.output;
  EXPECT_EQ(a.str(), b.str());

  const auto generate = [](const fs::path& dir) {
    return run_sieve("generate --model " + dir.string() + " --prompt 'the model' --max-new-tokens 8 --seed 3");
  };
  const CommandResult original_text = generate(model()), imported_text = generate(back);
  ASSERT_EQ(imported_text.exit_code, 0) << imported_text.output;
  EXPECT_EQ(original_text.output, imported_text.output);
  const CommandResult decode = run_sieve("bench decode --model " + back.string() + " --context 16 --tokens 4 --json");
  EXPECT_EQ(decode.exit_code, 0) << decode.output;
}

TEST_F(PyTorchCli, ConfigAndTokenizerBesideTheCheckpoint) {
  const fs::path folder = out("hf");
  fs::create_directories(folder);
  ASSERT_EQ(run_sieve("export --model " + model().string() + " --format pytorch --out " +
                      (folder / "pytorch_model.bin").string())
                .exit_code,
            0);
  expect_user_error("import --from pytorch " + (folder / "pytorch_model.bin").string() + " --out " +
                        out("none").string(),
                    "no config.json beside");
  fs::copy_file(model() / "config.json", folder / "config.json");
  expect_user_error("import --from pytorch " + (folder / "pytorch_model.bin").string() + " --out " +
                        out("none").string(),
                    "no tokenizer.model beside");
  fs::copy_file(model() / "tokenizer.model", folder / "tokenizer.model");
  const CommandResult imported =
      run_sieve("import --from pytorch " + (folder / "pytorch_model.bin").string() + " --out " + out("beside").string());
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"})
    EXPECT_TRUE(fs::exists(out("beside") / file)) << file;
  expect_user_error("import --from pytorch " + (folder / "pytorch_model.bin").string() + " --out " + folder.string(),
                    "holds the checkpoint's config or tokenizer");
}

TEST_F(PyTorchCli, HostileAndDamagedCheckpointsAreRefused) {
  const fs::path evil = out("evil.bin"), marker = out("marker");
  sieve::testing::run_torch_script("malicious forbidden-in-state-dict " + evil.string() + " " + marker.string());
  expect_user_error("import --from pytorch " + evil.string() + " --out " + out("evil-out").string() + with_companions(),
                    "forbidden global 'posix.system'");
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(fs::exists(out("evil-out") / "model.safetensors"));

  const fs::path good = out("good.bin");
  ASSERT_EQ(run_sieve("export --model " + model().string() + " --format pytorch --out " + good.string()).exit_code, 0);
  std::ifstream in(good, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  std::ofstream(out("cut.bin"), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  expect_user_error("import --from pytorch " + out("cut.bin").string() + " --out " + out("cut-out").string() +
                        with_companions(),
                    "cannot open as a zip archive");
  expect_user_error("import --from pytorch " + out("absent.bin").string() + " --out " + out("x").string(),
                    "no such checkpoint file");
}

TEST_F(PyTorchCli, UnsupportedRequests) {
  expect_user_error("export --model " + model().string() + " --format tensorflow --out " + out("m.pb").string(),
                    "--format must be one of");
  expect_user_error("import --from tensorflow " + out("m.pb").string() + " --out " + out("x").string(),
                    "--from must be one of");
  expect_user_error("export --model " + out("nonexistent").string() + " --format pytorch --out " +
                        out("m.bin").string(),
                    "does not exist");
  const CommandResult quantized =
      run_sieve("quantize --model " + model().string() + " --out " + out("int8").string() + " --scheme int8");
  ASSERT_EQ(quantized.exit_code, 0) << quantized.output;
  expect_user_error("export --model " + out("int8").string() + " --format pytorch --out " + out("q.bin").string(),
                    "is a quantized model directory");
  for (const char* verb : {"export", "import"}) {
    const CommandResult help = run_sieve(std::string(verb) + " --help");
    EXPECT_EQ(help.exit_code, 0) << help.output;
    EXPECT_NE(help.output.find("pytorch"), std::string::npos) << help.output;
    EXPECT_NE(help.output.find("--max-model-bytes"), std::string::npos) << help.output;
  }
}

}  // namespace
