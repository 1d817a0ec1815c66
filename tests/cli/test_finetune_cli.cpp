// `sieve finetune` end to end: train a tiny base, fine-tune it with LoRA (adapter file, merged
// model that `generate` loads; `eval` and `generate --adapter` apply the adapter file), fully,
// and the errors for bad targets, flag combinations and adapter files that do not fit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_sieve.h"

namespace {

namespace fs = std::filesystem;

using Result = sieve::testing::CommandResult;

Result sieve(const std::string& args) { return sieve::testing::run_sieve(args); }

class Finetune : public ::testing::Test {
 protected:
  // One tiny base model for every test of the suite (training it is the slow part).
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("sieve-finetune-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    std::ofstream corpus(*dir_ / "corpus.txt");
    // Words of one to three syllables: enough distinct pieces for the tiny preset's 512-piece tokenizer.
    const char* syllables[] = {"ka", "lo", "mi", "ren", "tus", "ba", "dor", "fe", "gil", "han", "jo", "ny",
                               "pra", "qui", "sto", "vel", "wex", "zu", "cha", "ple"};
    unsigned state = 12345;
    auto next = [&state](unsigned bound) {
      state = state * 1103515245u + 12345u;
      return (state >> 16) % bound;
    };
    for (int doc = 0; doc < 400; ++doc) {
      for (int w = 0; w < 40; ++w) {
        const unsigned length = 1 + next(3);
        for (unsigned s = 0; s < length; ++s) corpus << syllables[next(std::size(syllables))];
        corpus << ((w % 10 == 9) ? ".\n" : " ");
      }
      corpus << "\n";
    }
    corpus.close();
    base_result_ = new Result(sieve("train --data " + corpus_path() + " --out " + base_path() +
                                    " --preset tiny --steps 2 --batch 2 --context 32 --eval-windows 2 --warmup 1"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete base_result_;
  }
  void SetUp() override { ASSERT_EQ(base_result_->exit_code, 0) << base_result_->output; }

  static std::string corpus_path() { return (*dir_ / "corpus.txt").string(); }
  static std::string base_path() { return (*dir_ / "base").string(); }
  static std::string finetune(const fs::path& out, int steps = 3) {
    return "finetune --model " + base_path() + " --data " + corpus_path() + " --out " + out.string() +
           " --batch 1 --grad-accum 2 --context 32 --eval-windows 2 --warmup 1 --steps " + std::to_string(steps);
  }

  static fs::path* dir_;
  static Result* base_result_;
};

fs::path* Finetune::dir_ = nullptr;
Result* Finetune::base_result_ = nullptr;

TEST_F(Finetune, LoraSavesAdaptersAndAMergedModel) {
  const fs::path out = *dir_ / "lora";
  const Result r = sieve(finetune(out) + " --lora --lora-rank 4 --lora-alpha 8 --lora-targets attn --merge");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // tiny, rank 4 on attention: (4·64 + 64·4)·2 + (4·64 + 32·4)·2 = 1792 per layer, 2 layers.
  EXPECT_NE(r.output.find("trainable parameters: 3,584 of "), std::string::npos) << r.output;
  // The metrics stream's start record says the same; command.json keeps the command line.
  std::ifstream metrics(out / "metrics.jsonl");
  std::string first_line;
  std::getline(metrics, first_line);
  const auto start = nlohmann::json::parse(first_line);
  EXPECT_EQ(start["event"], "start");
  EXPECT_EQ(start["trainable_parameters"], 3584);
  EXPECT_GT(start["parameters"].get<std::int64_t>(), 30 * 3584);
  std::ifstream command_file(out / "command.json");
  const auto command = nlohmann::json::parse(command_file);
  EXPECT_EQ(command["verb"], "finetune");
  EXPECT_EQ(command["args"][0], "--model");
  EXPECT_EQ(command["args"].back(), "--merge");
  EXPECT_NE(r.output.find("validation perplexity"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out / "adapter.safetensors"));
  EXPECT_FALSE(fs::exists(out / "model.safetensors"));
  // A few KB of adapters, not a model.
  EXPECT_LT(fs::file_size(out / "adapter.safetensors"), fs::file_size(fs::path(base_path()) / "model.safetensors") / 10);
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"})
    EXPECT_TRUE(fs::exists(out / "merged" / file)) << file;
  const Result generated = sieve("generate --model " + (out / "merged").string() +
                                 " --prompt 'kalo mi' --max-new-tokens 4 --seed 1");
  EXPECT_EQ(generated.exit_code, 0) << generated.output;
}

// The perplexity `eval` prints, or -1 when there is none.
double perplexity_of(const std::string& output) {
  const std::size_t at = output.rfind("perplexity ");
  return at == std::string::npos ? -1.0 : std::stod(output.substr(at + 11));
}

TEST_F(Finetune, EvalAndGenerateApplyAnAdapterFile) {
  const fs::path out = *dir_ / "adapted";
  const Result r = sieve(finetune(out, 6) + " --lora --lora-rank 4 --lora-alpha 8 --lr 0.01 --merge");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string adapter = (out / "adapter.safetensors").string();
  const std::string data = " --data " + corpus_path() + " --max-windows 4 --context 32";
  const Result base = sieve("eval --model " + base_path() + data);
  const Result adapted = sieve("eval --model " + base_path() + data + " --adapter " + adapter);
  const Result merged = sieve("eval --model " + (out / "merged").string() + data);
  ASSERT_EQ(base.exit_code, 0) << base.output;
  ASSERT_EQ(adapted.exit_code, 0) << adapted.output;
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  EXPECT_NE(adapted.output.find("LoRA adapters from " + adapter + ": rank 4, alpha 8 on 'attn'"), std::string::npos)
      << adapted.output;
  EXPECT_GT(perplexity_of(base.output), 0.0) << base.output;
  EXPECT_NE(perplexity_of(adapted.output), perplexity_of(base.output)) << adapted.output << base.output;
  // The loss line, to four decimals: the adapted base computes what the merged model does.
  const auto loss_line = [](const std::string& output) { return output.substr(output.rfind("loss ")); };
  EXPECT_EQ(loss_line(adapted.output), loss_line(merged.output)) << adapted.output << merged.output;

  const std::string generate = " --prompt 'kalo mi' --max-new-tokens 6 --temperature 0";
  const Result with_adapter = sieve("generate --model " + base_path() + generate + " --adapter " + adapter);
  const Result with_merged = sieve("generate --model " + (out / "merged").string() + generate);
  ASSERT_EQ(with_adapter.exit_code, 0) << with_adapter.output;
  EXPECT_EQ(with_adapter.output.substr(with_adapter.output.find("kalo mi")), with_merged.output);
}

TEST_F(Finetune, AdapterFilesThatDoNotFitAreClearErrors) {
  const fs::path out = *dir_ / "misfit";
  ASSERT_EQ(sieve(finetune(out, 1) + " --lora --lora-rank 2").exit_code, 0);
  // Another model: the demo preset's shapes, untrained, with the same tokenizer.
  const fs::path other = *dir_ / "other";
  const Result made = sieve("train --out " + other.string() + " --preset demo --steps 0 --tokenizer " + base_path() +
                            "/tokenizer.model");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string adapter = (out / "adapter.safetensors").string();
  const std::pair<std::string, std::string> cases[] = {
      {"--model " + other.string() + " --adapter " + adapter, "does not fit the model in " + other.string()},
      {"--model " + base_path() + " --adapter " + base_path() + "/model.safetensors", "not a LoRA adapter file"},
      {"--model " + base_path() + " --adapter " + (*dir_ / "nothing.safetensors").string(), "--adapter: no file"},
  };
  for (const auto& [flags, message] : cases) {
    for (const std::string& verb :
         {"eval --max-windows 1 --data " + corpus_path() + " ", std::string("generate --prompt hi ")}) {
      const Result result = sieve(verb + flags);
      EXPECT_EQ(result.exit_code, 2) << verb << flags << "\n" << result.output;
      EXPECT_NE(result.output.find(message), std::string::npos) << verb << flags << "\n" << result.output;
    }
  }
}

TEST_F(Finetune, FullFineTuneSavesAModel) {
  const fs::path out = *dir_ / "full";
  const Result r = sieve(finetune(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("(100.000%)"), std::string::npos) << r.output;
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"})
    EXPECT_TRUE(fs::exists(out / file)) << file;
}

TEST_F(Finetune, BadInputIsAClearError) {
  const Result nothing = sieve(finetune(*dir_ / "bad1") + " --lora --lora-targets 'attn,no_such_layer*'");
  EXPECT_EQ(nothing.exit_code, 2) << nothing.output;
  EXPECT_NE(nothing.output.find("'no_such_layer*' matches no linear layer"), std::string::npos) << nothing.output;
  const Result merge = sieve(finetune(*dir_ / "bad2") + " --merge");
  EXPECT_EQ(merge.exit_code, 2) << merge.output;
  EXPECT_NE(merge.output.find("--merge needs --lora"), std::string::npos) << merge.output;
  const Result rank = sieve(finetune(*dir_ / "bad3") + " --lora --lora-rank 0");
  EXPECT_EQ(rank.exit_code, 2) << rank.output;
  EXPECT_NE(rank.output.find("rank must be at least 1"), std::string::npos) << rank.output;
  const Result help = sieve("finetune --help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_NE(help.output.find("--lora-targets"), std::string::npos) << help.output;
}

}  // namespace
