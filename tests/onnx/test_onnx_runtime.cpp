// ONNX Runtime runs Sieve's ONNX exports (tests/onnx/run_onnx.mjs over npm onnxruntime-node) and
// must give Sieve's answers: the prefill logits within 1e-4 (f32), the same greedy tokens through
// the KV-cache graph, left-padded rows equal to their unpadded sequences, INT8 QDQ graphs close to
// Sieve's INT8 model, and external data read back; python3-onnx's checker accepts every graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "gguf_model_dirs.h"
#include "onnx_runtime_runner.h"
#include "random_token_ids.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_linear.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/convert_onnx/onnx_export.h"
#include "sieve/io/model_dir.h"
#include "temp_dir.h"

namespace sieve::convert_onnx {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<std::vector<std::int64_t>>;
using testing::GgufTestModel;

std::vector<std::int64_t> prompt(std::int64_t tokens, std::uint64_t seed) {
  const core::Tensor ids = testing::token_ids(1, tokens, 512, seed);
  return {ids.data<std::int64_t>(), ids.data<std::int64_t>() + tokens};
}

// Sieve's logits of one sequence, [T · V].
std::vector<float> sieve_logits(const nn::LlamaForCausalLM& model, const std::vector<std::int64_t>& ids) {
  autograd::NoGradGuard no_grad;
  const core::Tensor logits =
      model.forward(core::Tensor::from_vector(ids, {1, static_cast<std::int64_t>(ids.size())})).contiguous();
  return {logits.data<float>(), logits.data<float>() + logits.numel()};
}

std::int64_t argmax(const float* row, std::int64_t V) { return std::max_element(row, row + V) - row; }

// Sieve's greedy continuation through its KV cache.
std::vector<std::int64_t> sieve_greedy(const nn::LlamaForCausalLM& model, const std::vector<std::int64_t>& ids,
                                       std::int64_t steps) {
  autograd::NoGradGuard no_grad;
  nn::KvCache cache = model.make_cache(1, static_cast<std::int64_t>(ids.size()) + steps);
  const std::int64_t V = model.config().vocab_size;
  core::Tensor logits =
      model.next_token_logits(core::Tensor::from_vector(ids, {1, static_cast<std::int64_t>(ids.size())}), &cache);
  std::vector<std::int64_t> tokens;
  for (std::int64_t step = 0; step < steps; ++step) {
    tokens.push_back(argmax(logits.contiguous().data<float>(), V));
    if (step + 1 < steps)
      logits =
          model.next_token_logits(core::Tensor::from_vector(std::vector<std::int64_t>{tokens.back()}, {1, 1}), &cache);
  }
  return tokens;
}

// max |a − b| over `count` values from a[a_offset], b[b_offset].
double max_difference(const std::vector<float>& a, std::size_t a_offset, const std::vector<float>& b,
                      std::size_t b_offset, std::size_t count) {
  double worst = 0.0;
  for (std::size_t i = 0; i < count; ++i) worst = std::max(worst, std::fabs(double{a[a_offset + i]} - b[b_offset + i]));
  return worst;
}

class OnnxRuntime : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_gguf_test_model_dir(model_dir(false), GgufTestModel{});
    testing::write_gguf_test_model_dir(model_dir(true), GgufTestModel{.tied = true, .kv_heads = 4, .seed = 2});
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path model_dir(bool tied) { return *dir_ / (tied ? "tied" : "gqa"); }
  static fs::path out(const std::string& name) { return *dir_ / name; }
  static testing::TempDir* dir_;
};

testing::TempDir* OnnxRuntime::dir_ = nullptr;

TEST_F(OnnxRuntime, F32PrefillLogitsMatchSieve) {
  for (const bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied embeddings, 4 KV heads" : "GQA (2 KV heads), untied");
    const auto model = io::load_model(model_dir(tied));
    const fs::path onnx = out(tied ? "tied.onnx" : "gqa.onnx");
    const OnnxExportSummary summary = export_onnx(model_dir(tied), onnx);
    ASSERT_EQ(summary.files.size(), 2u);
    testing::check_onnx_model(onnx);
    testing::check_onnx_model(with_past_path(onnx));
    // Two rows of 24 tokens in one batch.
    const Ids ids = {prompt(24, 1), prompt(24, 2)};
    const testing::OnnxRun run = testing::run_onnx_runtime(onnx, with_past_path(onnx), ids, {}, 0);
    const std::size_t row = 24 * 512;
    ASSERT_EQ(run.logits.size(), 2 * row);
    for (std::size_t b = 0; b < 2; ++b) {
      const std::vector<float> expected = sieve_logits(*model, ids[b]);
      const double difference = max_difference(run.logits, b * row, expected, 0, row);
      const auto [lo, hi] = std::minmax_element(expected.begin(), expected.end());
      std::printf("f32 %s row %zu: max |ORT - Sieve| = %.2e (logits span %.1f)\n", tied ? "tied" : "gqa", b, difference,
                  *hi - *lo);
      EXPECT_LT(difference, 1e-4);
    }
  }
}

// The names, types and axes Hugging Face's exports use, in their order: input_ids then
// attention_mask (then past_key_values.N.key/value), logits then present.N.key/value.
TEST_F(OnnxRuntime, GraphsNameTheirInputsAndOutputsAsHuggingFaceExportsDo) {
  const fs::path onnx = out("interface.onnx");
  export_onnx(model_dir(false), onnx);  // 2 layers, 2 KV heads of 16
  const std::vector<std::string> prefill = testing::graph_interface(onnx);
  const std::vector<std::string> expected_prefill = {
      "input_ids:int64[batch_size,sequence_length]",
      "attention_mask:int64[batch_size,total_sequence_length]",
      "logits:float[batch_size,sequence_length,512]",
      "present.0.key:float[batch_size,2,total_sequence_length,16]",
      "present.0.value:float[batch_size,2,total_sequence_length,16]",
      "present.1.key:float[batch_size,2,total_sequence_length,16]",
      "present.1.value:float[batch_size,2,total_sequence_length,16]"};
  EXPECT_EQ(prefill, expected_prefill);
  const std::vector<std::string> with_past = testing::graph_interface(with_past_path(onnx));
  ASSERT_EQ(with_past.size(), expected_prefill.size() + 4);
  EXPECT_EQ(with_past[2], "past_key_values.0.key:float[batch_size,2,past_sequence_length,16]");
  EXPECT_EQ(with_past[5], "past_key_values.1.value:float[batch_size,2,past_sequence_length,16]");
  EXPECT_EQ(with_past[6], "logits:float[batch_size,sequence_length,512]");
}

TEST_F(OnnxRuntime, GreedyDecodingThroughTheKvCacheGraphMatchesSieve) {
  const auto model = io::load_model(model_dir(false));
  const fs::path onnx = out("greedy.onnx");
  export_onnx(model_dir(false), onnx);
  const std::vector<std::int64_t> ids = prompt(16, 3);
  const testing::OnnxRun run = testing::run_onnx_runtime(onnx, with_past_path(onnx), {ids}, {}, 24);
  ASSERT_EQ(run.tokens.size(), 1u);
  EXPECT_EQ(run.tokens[0], sieve_greedy(*model, ids, 24));
}

// A left-padded row (attention_mask 0 on the padding) gives its tokens the logits and the greedy
// continuation of the unpadded sequence, as Hugging Face's models do.
TEST_F(OnnxRuntime, LeftPaddedRowsMatchTheirUnpaddedSequences) {
  const auto model = io::load_model(model_dir(false));
  const fs::path onnx = out("padded.onnx");
  export_onnx(model_dir(false), onnx);
  const std::vector<std::int64_t> full = prompt(20, 4), short_prompt = prompt(15, 5);
  std::vector<std::int64_t> padded(5, 0), padded_mask(5, 0);
  padded.insert(padded.end(), short_prompt.begin(), short_prompt.end());
  padded_mask.resize(20, 1);
  const testing::OnnxRun run = testing::run_onnx_runtime(onnx, with_past_path(onnx), {full, padded},
                                                         {std::vector<std::int64_t>(20, 1), padded_mask}, 8);
  const std::size_t V = 512;
  const double difference = max_difference(run.logits, (20 + 5) * V, sieve_logits(*model, short_prompt), 0, 15 * V);
  std::printf("left-padded row: max |ORT - Sieve| = %.2e\n", difference);
  EXPECT_LT(difference, 1e-4);
  ASSERT_EQ(run.tokens.size(), 2u);
  EXPECT_EQ(run.tokens[0], sieve_greedy(*model, full, 8));
  EXPECT_EQ(run.tokens[1], sieve_greedy(*model, short_prompt, 8));
}

// Sieve's f32 model with every INT8 Linear's weight replaced by its dequantized values (q · scale):
// what a QDQ graph with f32 activations computes.
std::unique_ptr<nn::LlamaForCausalLM> dequantized_model(const fs::path& f32_dir, const nn::LlamaForCausalLM& int8) {
  auto model = io::load_model(f32_dir);
  std::map<std::string, core::Tensor> weights;
  for (auto& [name, tensor] : model->named_parameters()) weights.emplace(name, tensor);
  for (const auto& [path, module] : int8.named_modules()) {
    const auto* linear = dynamic_cast<const nn::Linear*>(module.get());
    const auto* format = linear ? dynamic_cast<const compress::Int8LinearFormat*>(linear->weight_format()) : nullptr;
    if (format == nullptr) continue;
    const std::int64_t M = format->q().size(0), K = format->q().size(1);
    float* weight = weights.at(path + ".weight").data<float>();
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t k = 0; k < K; ++k)
        weight[m * K + k] =
            format->scales().data<float>()[m] * static_cast<float>(format->q().data<std::int8_t>()[m * K + k]);
  }
  return model;
}

// INT8 directories become QDQ graphs. Sieve also quantizes each token's activations to int8 at
// run time (dynamic), which QDQ cannot express, so ONNX Runtime multiplies f32 activations by the
// same dequantized int8 weights. Hence two checks: the graph computes exactly that (within 1e-4 of
// Sieve's f32 model holding the dequantized weights), and it differs from Sieve's INT8 model by
// the activation rounding alone — less than Sieve's INT8 model differs from the f32 one.
TEST_F(OnnxRuntime, Int8QdqGraphIsCloseToSievesInt8Model) {
  {
    auto model = io::load_model(model_dir(false));
    compress::quantize_model(*model, compress::uniform_plan(*model, compress::Precision::int8));
    compress::save_quantized_model(*model, out("int8"));
  }
  const auto model = compress::load_quantized_model(out("int8"));
  const fs::path onnx = out("int8.onnx");
  const OnnxExportSummary summary = export_onnx(out("int8"), onnx);
  EXPECT_EQ(summary.int8_linears, 2 * 7 + 1);  // every projection and the untied head
  EXPECT_EQ(testing::count_symmetric_int8_dequantizers(onnx), summary.int8_linears);
  testing::check_onnx_model(onnx);
  testing::check_onnx_model(with_past_path(onnx));
  const std::vector<std::int64_t> ids = prompt(24, 6);
  const testing::OnnxRun run = testing::run_onnx_runtime(onnx, with_past_path(onnx), {ids}, {}, 0);
  const std::vector<float> int8 = sieve_logits(*model, ids);
  const std::vector<float> f32 = sieve_logits(*io::load_model(model_dir(false)), ids);
  const std::vector<float> dequantized = sieve_logits(*dequantized_model(model_dir(false), *model), ids);
  const double exact = max_difference(run.logits, 0, dequantized, 0, f32.size());
  const double difference = max_difference(run.logits, 0, int8, 0, f32.size());
  const double quantization = max_difference(f32, 0, int8, 0, f32.size());
  std::printf(
      "int8: max |ORT QDQ - Sieve f32 with dequantized weights| = %.2e; |ORT QDQ - Sieve int8| = %.3f; "
      "|Sieve int8 - Sieve f32| = %.3f\n",
      exact, difference, quantization);
  EXPECT_LT(exact, 1e-4);
  EXPECT_LT(difference, quantization);
}

// With static activation scales (`sieve quantize --activations static`) the graph quantizes both
// operands (QuantizeLinear → DequantizeLinear on x) as Sieve's INT8 kernels do: as written (ONNX
// Runtime's "basic" level) it gives Sieve's logits to float rounding. At the default level ONNX
// Runtime fuses the pairs into its own int8 GEMM, whose AVX2 path (u8·s8 pairs summed in saturating
// int16) can differ by far more on CPUs without VNNI; the test prints that difference.
TEST_F(OnnxRuntime, Int8StaticActivationsAreQdqOnBothOperands) {
  {
    auto model = io::load_model(model_dir(false));
    compress::QuantizationPlan plan = compress::uniform_plan(*model, compress::Precision::int8);
    plan.activations = compress::ActivationMode::calibrated;
    std::map<std::string, float> ranges;
    for (const std::string& layer : compress::int8_layers(plan)) ranges[layer] = 6.0f;
    compress::quantize_model(*model, plan, &ranges);
    compress::save_quantized_model(*model, out("int8-static"));
  }
  const auto model = compress::load_quantized_model(out("int8-static"));
  const fs::path onnx = out("int8-static.onnx");
  export_onnx(out("int8-static"), onnx);
  testing::check_onnx_model(onnx);
  const std::vector<std::int64_t> ids = prompt(24, 8);
  const testing::OnnxRun as_written = testing::run_onnx_runtime(onnx, with_past_path(onnx), {ids}, {}, 0, "basic");
  const testing::OnnxRun fused = testing::run_onnx_runtime(onnx, with_past_path(onnx), {ids}, {}, 0);
  const std::vector<float> expected = sieve_logits(*model, ids);
  const double difference = max_difference(as_written.logits, 0, expected, 0, expected.size());
  std::printf("int8 static: max |ORT QDQ (basic) - Sieve int8 static| = %.2e; ORT's fused int8 kernels (all): %.3f\n",
              difference, max_difference(fused.logits, 0, expected, 0, expected.size()));
  EXPECT_LT(difference, 1e-4);
}

// With the weights above the threshold, both graphs reference one external data file and still
// give the same logits.
TEST_F(OnnxRuntime, ExternalDataAboveTheThreshold) {
  const auto model = io::load_model(model_dir(false));
  const fs::path onnx = out("external.onnx");
  const OnnxExportSummary summary = export_onnx(model_dir(false), onnx, {.external_data_threshold = 0});
  ASSERT_EQ(summary.files.size(), 3u);
  EXPECT_EQ(summary.files[2], out("external.onnx.data"));
  EXPECT_LT(fs::file_size(onnx) * 20, summary.weight_bytes);
  EXPECT_GE(fs::file_size(summary.files[2]), summary.weight_bytes - 64 * 1024);
  testing::check_onnx_model(onnx);
  testing::check_onnx_model(with_past_path(onnx));
  const std::vector<std::int64_t> ids = prompt(12, 7);
  const testing::OnnxRun run = testing::run_onnx_runtime(onnx, with_past_path(onnx), {ids}, {}, 6);
  EXPECT_LT(max_difference(run.logits, 0, sieve_logits(*model, ids), 0, 12 * 512), 1e-4);
  EXPECT_EQ(run.tokens[0], sieve_greedy(*model, ids, 6));
}

}  // namespace
}  // namespace sieve::convert_onnx
