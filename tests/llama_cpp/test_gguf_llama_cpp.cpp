// GGUF exports verified by llama.cpp itself (the npm package's libllama, llama_cpp_runner.h):
// it loads Sieve's files and its logits and perplexity match Sieve's — within 1e-4 for f32, and
// within measured bounds for f16, q8_0 and q4_0 — its tokenizer splits text as Sieve's does, and
// Sieve's block quantizers write the bytes ggml's own write.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "gguf_model_dirs.h"
#include "llama_cpp_runner.h"
#include "sieve/compress/quantization_plan.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/convert_gguf/gguf_blocks.h"
#include "sieve/convert_gguf/gguf_export.h"
#include "sieve/convert_gguf/gguf_reader.h"
#include "sieve/convert_gguf/gguf_tokenizer.h"
#include "sieve/core/tensor.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_dir.h"
#include "temp_dir.h"

namespace sieve::convert_gguf {
namespace {

namespace fs = std::filesystem;
using Logits = std::vector<std::vector<float>>;
using sieve::testing::LlamaCppModel;

constexpr const char* kText =
    "the quick brown fox jumps over the lazy dog. sieve keeps what matters and drops the rest. "
    "a model moves between tools only when the other tool gives the same answers.";

Logits sieve_logits(const nn::LlamaForCausalLM& model, const std::vector<std::int32_t>& tokens) {
  autograd::NoGradGuard no_grad;
  std::vector<std::int64_t> ids(tokens.begin(), tokens.end());
  const core::Tensor input = core::Tensor::from_vector(ids, {1, static_cast<std::int64_t>(ids.size())});
  const core::Tensor logits = model.forward(input).contiguous();
  const std::int64_t V = logits.size(2);
  Logits out;
  for (std::size_t t = 0; t < tokens.size(); ++t)
    out.emplace_back(logits.data<float>() + t * V, logits.data<float>() + (t + 1) * V);
  return out;
}

double max_abs_difference(const Logits& a, const Logits& b) {
  double worst = 0.0;
  for (std::size_t t = 0; t < a.size(); ++t)
    for (std::size_t v = 0; v < a[t].size(); ++v) worst = std::max(worst, std::fabs(double{a[t][v]} - b[t][v]));
  return worst;
}

double spread(const Logits& logits) {
  double lo = 1e30, hi = -1e30;
  for (const auto& row : logits)
    for (const float v : row) lo = std::min<double>(lo, v), hi = std::max<double>(hi, v);
  return hi - lo;
}

// exp(mean negative log-likelihood of token t + 1 given the logits at t).
double perplexity(const Logits& logits, const std::vector<std::int32_t>& tokens) {
  double nll = 0.0;
  for (std::size_t t = 0; t + 1 < tokens.size(); ++t) {
    const auto& row = logits[t];
    const double top = *std::max_element(row.begin(), row.end());
    double sum = 0.0;
    for (const float v : row) sum += std::exp(v - top);
    nll += std::log(sum) + top - row[static_cast<std::size_t>(tokens[t + 1])];
  }
  return std::exp(nll / static_cast<double>(tokens.size() - 1));
}

class GgufInLlamaCpp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new sieve::testing::TempDir();
    sieve::testing::write_gguf_test_model_dir(model_dir(false), {.tied = false, .kv_heads = 2, .seed = 3});
    sieve::testing::write_gguf_test_model_dir(model_dir(true), {.tied = true, .kv_heads = 4, .seed = 4});
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path model_dir(bool tied) { return *dir_ / (tied ? "tied" : "gqa"); }
  static fs::path out(const std::string& name) { return *dir_ / name; }
  static std::vector<std::int32_t> prompt(const fs::path& dir) {
    const auto tokenizer = data::Tokenizer::load(dir / io::kTokenizerFile);
    std::vector<std::int32_t> tokens{tokenizer.bos_id()};
    for (const std::int32_t id : tokenizer.encode(kText)) tokens.push_back(id);
    return tokens;
  }
  static sieve::testing::TempDir* dir_;
};

sieve::testing::TempDir* GgufInLlamaCpp::dir_ = nullptr;

TEST_F(GgufInLlamaCpp, F32LogitsAndPerplexityEqualSieves) {
  for (const bool tied : {false, true}) {
    const auto model = io::load_model(model_dir(tied));
    const auto tokens = prompt(model_dir(tied));
    ASSERT_GT(tokens.size(), 40u);
    const fs::path gguf = out(std::string(tied ? "tied" : "gqa") + "-f32.gguf");
    export_gguf(model_dir(tied), gguf, GgmlType::f32);
    LlamaCppModel llama(gguf);
    ASSERT_EQ(llama.vocab_size(), 512);
    const Logits expected = sieve_logits(*model, tokens);
    const Logits got = llama.logits(tokens);
    ASSERT_GT(spread(expected), 4.0) << "logits too flat to tell models apart";
    const double difference = max_abs_difference(expected, got);
    std::printf("f32 %s: max |logit difference| %.3g over %zu positions (spread %.2f)\n", tied ? "tied" : "GQA untied",
                difference, tokens.size(), spread(expected));
    EXPECT_LT(difference, 1e-4) << (tied ? "tied" : "GQA");
    const double sieve_ppl = perplexity(expected, tokens), llama_ppl = perplexity(got, tokens);
    EXPECT_NEAR(llama_ppl / sieve_ppl, 1.0, 1e-5) << sieve_ppl << " vs " << llama_ppl;
  }
}

// The bounds are measured on these models (about twice what was seen), against Sieve's
// f32 logits: f16 rounds the weights only; q8_0 and q4_0 round the weights per block, and
// llama.cpp also rounds the activations to q8_0 blocks for those products.
TEST_F(GgufInLlamaCpp, QuantizedTypesStayClose) {
  struct Case {
    GgmlType type;
    double max_logit_difference, max_ppl_change;
  };
  const auto model = io::load_model(model_dir(false));
  const auto tokens = prompt(model_dir(false));
  const Logits expected = sieve_logits(*model, tokens);
  const double sieve_ppl = perplexity(expected, tokens);
  for (const Case& c : {Case{GgmlType::f16, 0.015, 0.0005}, Case{GgmlType::q8_0, 0.4, 0.002},
                        Case{GgmlType::q4_0, 5.0, 0.06}}) {
    const fs::path gguf = out("gqa-" + std::string(ggml_type_name(c.type)) + ".gguf");
    export_gguf(model_dir(false), gguf, c.type);
    LlamaCppModel llama(gguf);
    const Logits got = llama.logits(tokens);
    const double difference = max_abs_difference(expected, got);
    const double ppl_change = std::fabs(perplexity(got, tokens) / sieve_ppl - 1.0);
    std::printf("%s: max |logit difference| %.3g, perplexity %.4f vs Sieve f32 %.4f (%.3f%%)\n",
                std::string(ggml_type_name(c.type)).c_str(), difference, perplexity(got, tokens), sieve_ppl,
                100.0 * ppl_change);
    EXPECT_LT(difference, c.max_logit_difference) << ggml_type_name(c.type);
    EXPECT_LT(ppl_change, c.max_ppl_change) << ggml_type_name(c.type);
    EXPECT_GT(difference, 0.0) << "a quantized file that computes exactly f32 was not quantized";
  }
}

// A Sieve INT4 (g32, f16 scales) directory exported to q4_0: its Linears are the same weights
// (tests/convert_gguf checks that bit for bit); llama.cpp's logits still differ from Sieve's INT4
// ones by its q8_0 activations and by the embedding, which Sieve keeps f32 and the file stores
// as q4_0. Measured 1.25.
TEST_F(GgufInLlamaCpp, Int4DirectoryMapsOntoQ4_0) {
  auto model = io::load_model(model_dir(false));
  auto plan = compress::uniform_plan(*model, compress::Precision::int4);
  plan.group_size = 32;
  plan.int4_scale_dtype = core::DType::f16;
  compress::quantize_model(*model, plan, nullptr);
  compress::save_quantized_model(*model, out("int4"));
  fs::copy_file(model_dir(false) / io::kTokenizerFile, out("int4") / io::kTokenizerFile);
  const auto int4 = compress::load_quantized_model(out("int4"));
  const auto tokens = prompt(model_dir(false));
  export_gguf(out("int4"), out("int4.gguf"), GgmlType::q4_0);
  LlamaCppModel llama(out("int4.gguf"));
  const double difference = max_abs_difference(sieve_logits(*int4, tokens), llama.logits(tokens));
  std::printf("Sieve int4 g32 vs its q4_0 export in llama.cpp: max |logit difference| %.3g\n", difference);
  EXPECT_LT(difference, 2.5);
}

TEST_F(GgufInLlamaCpp, TokenizationAgrees) {
  export_gguf(model_dir(false), out("tok.gguf"), GgmlType::f32);
  LlamaCppModel llama(out("tok.gguf"));
  const auto tokenizer = data::Tokenizer::load(model_dir(false) / io::kTokenizerFile);
  for (const std::string& text : {std::string(kText), std::string("hello world"), std::string("  two  spaces\n"),
                                 std::string("new\nlines\n\n and\ttabs"), std::string("ünïcödé → 🦙 bytes"),
                                 std::string(""), std::string("x")}) {
    EXPECT_EQ(llama.tokenize(text), tokenizer.encode(text)) << "'" << text << "'";
  }
}

// llama.cpp's own vocabulary test file (LLaMA's SentencePiece vocabulary and its expected ids),
// rebuilt into a tokenizer.model by Sieve, encodes each case as llama.cpp does.
TEST(GgufVocabFromLlamaCpp, BundledSpmCasesTokenizeAlike) {
  const fs::path vocab = fs::path(SIEVE_LLAMA_CPP_SOURCE_DIR) / "models" / "ggml-vocab-llama-spm.gguf";
  const GgufFile file(vocab);
  const data::Tokenizer tokenizer =
      data::Tokenizer::from_serialized(write_sentencepiece_model(tokenizer_from_gguf(file.header(), vocab.string())));
  const auto read = [](const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string inputs = read(vocab.string() + ".inp"), outputs = read(vocab.string() + ".out");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  for (std::size_t begin = 0;;) {
    const std::size_t end = inputs.find(separator, begin);
    if (end == std::string::npos) break;
    cases.push_back(inputs.substr(begin, end - begin));
    begin = end + separator.size();
  }
  std::istringstream lines(outputs);
  std::string line;
  std::size_t checked = 0;
  for (const std::string& text : cases) {
    ASSERT_TRUE(std::getline(lines, line));
    std::vector<std::int32_t> expected;
    std::istringstream ids(line);
    for (std::int32_t id; ids >> id;) expected.push_back(id);
    EXPECT_EQ(tokenizer.encode(text), expected) << "'" << text << "'";
    ++checked;
  }
  EXPECT_GT(checked, 20u);
}

// Sieve's encoders write the bytes ggml's reference quantizers write, and decode as ggml does.
TEST(GgufBlocksAgainstGgml, SameBytesAsGgmlQuantizeChunk) {
  sieve::testing::init_llama_cpp();
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::int64_t rows = 7, cols = 96;
  std::vector<float> x(rows * cols);
  for (float& v : x) v = normal(rng);
  x[3] = 0.0f;
  std::fill(x.begin() + cols, x.begin() + cols + 32, 0.0f);  // an all-zero block
  for (const auto& [ours, theirs] : {std::pair{GgmlType::f16, GGML_TYPE_F16}, std::pair{GgmlType::q8_0, GGML_TYPE_Q8_0},
                                    std::pair{GgmlType::q4_0, GGML_TYPE_Q4_0}}) {
    const std::vector<std::byte> encoded = encode_rows(ours, x.data(), rows, cols);
    std::vector<std::byte> reference(encoded.size());
    const std::size_t written = ggml_quantize_chunk(theirs, x.data(), reference.data(), 0, rows, cols, nullptr);
    ASSERT_EQ(written, encoded.size());
    EXPECT_EQ(encoded, reference) << ggml_type_name(ours);
    std::vector<float> decoded(x.size()), reference_decoded(x.size());
    decode_elements(ours, encoded, rows * cols, decoded.data());
    ggml_get_type_traits(theirs)->to_float(reference.data(), reference_decoded.data(), rows * cols);
    EXPECT_EQ(decoded, reference_decoded) << ggml_type_name(ours);
  }
}

}  // namespace
}  // namespace sieve::convert_gguf
