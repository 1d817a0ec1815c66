// Sieve model directories to llama-architecture GGUF and back: the naming and RoPE row
// permutation, every preset's config through the metadata, export → import giving back the same
// logits (exactly for f32) and tokenizer, and clear refusals of what GGUF or Sieve cannot carry.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "gguf_model_dirs.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/quantization_plan.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_linear.h"
#include "sieve/compress/quantized_model_dir.h"
#include "sieve/io/safetensors.h"
#include "sieve/convert_gguf/gguf_blocks.h"
#include "sieve/convert_gguf/gguf_export.h"
#include "sieve/convert_gguf/gguf_import.h"
#include "sieve/convert_gguf/gguf_reader.h"
#include "sieve/convert_gguf/llama_gguf_metadata.h"
#include "sieve/convert_gguf/llama_gguf_names.h"
#include "sieve/core/error.h"
#include "sieve/data/tokenizer.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/nn/models/presets.h"
#include "temp_dir.h"

namespace sieve::convert_gguf {
namespace {

namespace fs = std::filesystem;

// The UserError message `fn` throws (fails the test if none).
std::string user_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const core::UserError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no UserError";
  return {};
}

TEST(LlamaGgufNames, MapsEveryParameter) {
  EXPECT_EQ(gguf_tensor_name("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("lm_head.weight"), "output.weight");
  EXPECT_EQ(gguf_tensor_name("model.norm.weight"), "output_norm.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.11.self_attn.o_proj.weight"), "blk.11.attn_output.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.0.mlp.gate_proj.weight"), "blk.0.ffn_gate.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.0.post_attention_layernorm.weight"), "blk.0.ffn_norm.weight");
  EXPECT_FALSE(gguf_tensor_name("model.layers.0.self_attn.scorer.out.weight").has_value());
  EXPECT_FALSE(gguf_tensor_name("model.layers.x.mlp.up_proj.weight").has_value());
  EXPECT_EQ(rope_projection_of("model.layers.3.self_attn.k_proj.weight"), RopeProjection::key);
  EXPECT_EQ(rope_projection_of("model.layers.3.self_attn.v_proj.weight"), RopeProjection::none);
}

// HF head rows (pairs i, i + D/2) become adjacent pairs: D = 4 → rows 0, 2, 1, 3.
TEST(LlamaGgufNames, PermutesRopeRowsAndBack) {
  const std::vector<float> w{0, 0, 1, 1, 2, 2, 3, 3, 10, 10, 11, 11, 12, 12, 13, 13};  // 2 heads × 4 rows × 2 cols
  std::vector<float> gguf(w.size()), back(w.size());
  permute_rope_rows(w.data(), gguf.data(), 2, 4, 2, true);
  EXPECT_EQ(gguf, (std::vector<float>{0, 0, 2, 2, 1, 1, 3, 3, 10, 10, 12, 12, 11, 11, 13, 13}));
  permute_rope_rows(gguf.data(), back.data(), 2, 4, 2, false);
  EXPECT_EQ(back, w);
}

// Each preset's config (and its tied / GQA variants) through llama.* metadata and back.
TEST(LlamaGgufMetadata, EveryPresetConfigRoundTrips) {
  sieve::testing::TempDir dir;
  for (const std::string& preset : nn::preset_names())
    for (const bool tied : {false, true}) {
      nn::LlamaConfig config = nn::preset_config(preset);
      config.tie_word_embeddings = tied;
      if (tied) config.num_key_value_heads = config.num_attention_heads / 2 > 0 ? config.num_attention_heads / 2 : 1;
      if (config.num_attention_heads % config.num_key_value_heads != 0) config.num_key_value_heads = 1;
      config.bos_token_id = 1;
      config.eos_token_id = 2;
      GgufWriter writer;
      write_llama_metadata(writer, config, preset, GgmlType::q4_0);
      writer.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
      writer.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
      // Zero q4_0 stand-ins: the shapes are what the reader checks.
      const std::vector<std::byte> zeros(static_cast<std::size_t>(config.vocab_size * config.hidden_size / 32 * 18));
      writer.add_tensor("token_embd.weight", {config.hidden_size, config.vocab_size}, GgmlType::q4_0, zeros);
      if (!tied) writer.add_tensor("output.weight", {config.hidden_size, config.vocab_size}, GgmlType::q4_0, zeros);
      writer.write(dir / "m.gguf");
      const GgufFile file(dir / "m.gguf");
      const nn::LlamaConfig back = read_llama_config(file.header(), "m.gguf");
      EXPECT_EQ(io::llama_config_to_json(back), io::llama_config_to_json(config)) << preset << (tied ? " tied" : "");
    }
}

class GgufRoundTrip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new sieve::testing::TempDir();
    sieve::testing::write_gguf_test_model_dir(source(false), {.tied = false, .kv_heads = 2, .seed = 3});
    sieve::testing::write_gguf_test_model_dir(source(true), {.tied = true, .kv_heads = 4, .seed = 4});
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path source(bool tied) { return *dir_ / (tied ? "tied" : "gqa"); }
  static fs::path path(const std::string& name) { return *dir_ / name; }

  static core::Tensor logits(const fs::path& dir) {
    const auto model = io::load_model(dir);
    const auto tokenizer = data::Tokenizer::load(dir / io::kTokenizerFile);
    const auto ids = tokenizer.encode("the model moves between tools and gives the same answers");
    const std::vector<std::int64_t> tokens(ids.begin(), ids.end());
    autograd::NoGradGuard no_grad;
    return model->forward(core::Tensor::from_vector(tokens, {1, static_cast<std::int64_t>(tokens.size())})).contiguous();
  }
  static double max_difference(const core::Tensor& a, const core::Tensor& b) {
    double worst = 0.0;
    for (std::int64_t i = 0; i < a.numel(); ++i)
      worst = std::max(worst, std::fabs(double{a.data<float>()[i]} - b.data<float>()[i]));
    return worst;
  }
  // Rewrites an exported file through `edit` (metadata and tensors as read) into `out`.
  static void rewrite(const fs::path& in, const fs::path& out,
                      const std::function<void(GgufWriter&, const GgufFile&)>& edit_metadata,
                      const std::function<bool(const GgufTensorInfo&)>& keep_tensor = {}) {
    const GgufFile file(in);
    GgufWriter writer;
    for (const auto& [key, value] : file.header().metadata) writer.set(key, value);
    edit_metadata(writer, file);
    for (const GgufTensorInfo& t : file.header().tensors) {
      if (keep_tensor && !keep_tensor(t)) continue;
      const auto bytes = file.tensor_bytes(t);
      writer.add_tensor(t.name, t.dims, t.type, std::vector<std::byte>(bytes.begin(), bytes.end()));
    }
    writer.write(out);
  }

  static sieve::testing::TempDir* dir_;
};

sieve::testing::TempDir* GgufRoundTrip::dir_ = nullptr;

TEST_F(GgufRoundTrip, F32ExportImportGivesTheSameModel) {
  for (const bool tied : {false, true}) {
    const std::string name = tied ? "tied" : "gqa";
    export_gguf(source(tied), path(name + ".gguf"), GgmlType::f32);
    const GgufImportSummary summary = import_gguf(path(name + ".gguf"), path(name + "-imported"));
    EXPECT_EQ(summary.tensors_by_type.at("f32"), tied ? 20 : 21);
    EXPECT_EQ(io::read_config_json(path(name + "-imported") / io::kConfigFile),
              io::read_config_json(source(tied) / io::kConfigFile));
    EXPECT_EQ(max_difference(logits(source(tied)), logits(path(name + "-imported"))), 0.0) << name;
    const auto original = data::Tokenizer::load(source(tied) / io::kTokenizerFile);
    const auto rebuilt = data::Tokenizer::load(path(name + "-imported") / io::kTokenizerFile);
    ASSERT_EQ(rebuilt.vocab_size(), original.vocab_size());
    EXPECT_EQ(rebuilt.bos_id(), original.bos_id());
    EXPECT_EQ(rebuilt.eos_id(), original.eos_id());
    EXPECT_EQ(rebuilt.unk_id(), original.unk_id());
    EXPECT_EQ(rebuilt.pad_id(), original.pad_id());
    for (const char* text : {"hello world", "  two  spaces\n", "ünïcödé → 🦙", "", "qwertyuiop asdf."})
      EXPECT_EQ(rebuilt.encode(text), original.encode(text)) << text;
  }
}

TEST_F(GgufRoundTrip, QuantizedExportsImportClose) {
  const core::Tensor expected = logits(source(false));
  for (const auto& [type, bound] : {std::pair{GgmlType::f16, 0.015}, std::pair{GgmlType::q8_0, 0.3},
                                    std::pair{GgmlType::q4_0, 5.0}}) {
    const std::string name = "gqa-" + std::string(ggml_type_name(type));
    export_gguf(source(false), path(name + ".gguf"), type);
    import_gguf(path(name + ".gguf"), path(name));
    const double difference = max_difference(expected, logits(path(name)));
    EXPECT_LT(difference, bound) << name;
    EXPECT_GT(difference, 0.0) << name;
  }
}

// INT8 → q8_0 and INT4 → q4_0 keep each layer's values: q4_0 exactly (f16 scales), q8_0 up to
// its scale's rounding to f16. Checked on the imported tensors against the formats' own values.
TEST_F(GgufRoundTrip, QuantizedDirectoriesMapDirectly) {
  for (const auto& [precision, type] : {std::pair{compress::Precision::int4, GgmlType::q4_0},
                                        std::pair{compress::Precision::int8, GgmlType::q8_0}}) {
    auto model = io::load_model(source(false));
    auto plan = compress::uniform_plan(*model, precision);
    plan.group_size = 64;  // two q4_0 blocks share each group's scale
    plan.int4_scale_dtype = core::DType::f16;
    compress::quantize_model(*model, plan, nullptr);
    const fs::path quantized = path(std::string("direct-") + ggml_type_name(type).data());
    compress::save_quantized_model(*model, quantized);
    fs::copy_file(source(false) / io::kTokenizerFile, quantized / io::kTokenizerFile, fs::copy_options::overwrite_existing);
    export_gguf(quantized, quantized.string() + ".gguf", type);
    import_gguf(quantized.string() + ".gguf", quantized.string() + "-imported");
    const auto imported = io::load_safetensors(quantized.string() + "-imported/" + io::kWeightsFile);
    int compared = 0;
    for (const auto& [name, module] : model->named_modules()) {
      const auto* linear = dynamic_cast<const nn::Linear*>(module.get());
      if (linear == nullptr || linear->weight_format() == nullptr) continue;
      const core::Tensor& weight = imported.at(name + ".weight");
      const std::int64_t M = weight.size(0), K = weight.size(1);
      double worst = 0.0;
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t k = 0; k < K; ++k) {
          double value;
          if (const auto* int4 = dynamic_cast<const compress::Int4LinearFormat*>(linear->weight_format())) {
            const int nibble = (int4->packed().data<std::uint8_t>()[m * int4->packed().size(1) + k / 2] >> (4 * (k % 2))) & 15;
            value = int4->scales().data<float>()[m * int4->scales().size(1) + k / 64] * (nibble - 8);
          } else {
            const auto* int8 = dynamic_cast<const compress::Int8LinearFormat*>(linear->weight_format());
            value = int8->scales().data<float>()[m] * int8->q().data<std::int8_t>()[m * K + k];
          }
          worst = std::max(worst, std::fabs(value - weight.data<float>()[m * K + k]) / std::max(1e-6, std::fabs(value)));
        }
      EXPECT_LE(worst, type == GgmlType::q4_0 ? 0.0 : 1.0 / 2048) << name;
      ++compared;
    }
    EXPECT_EQ(compared, 15);
  }
}

TEST_F(GgufRoundTrip, ExportRefusesWhatGgufCannotCarry) {
  const fs::path sparse = path("sparse");
  fs::create_directories(sparse);
  fs::copy_file(source(false) / io::kTokenizerFile, sparse / io::kTokenizerFile);
  nn::LlamaConfig config = sieve::testing::gguf_test_config({});
  config.attention.layers = {"dense", "sparse"};
  io::save_model(nn::LlamaForCausalLM(config, 1), sparse);
  EXPECT_NE(user_error([&] { export_gguf(sparse, path("x.gguf"), GgmlType::f32); }).find("layer 1 runs 'sparse'"),
            std::string::npos);

  const fs::path no_tokenizer = path("no-tokenizer");
  fs::create_directories(no_tokenizer);
  for (const char* file : {io::kConfigFile, io::kWeightsFile}) fs::copy_file(source(false) / file, no_tokenizer / file);
  EXPECT_NE(user_error([&] { export_gguf(no_tokenizer, path("x.gguf"), GgmlType::f32); }).find("tokenizer.model is missing"),
            std::string::npos);
  EXPECT_NE(user_error([] { (void)gguf_export_type_from_name("q4_k"); }).find("f32, f16, q8_0 or q4_0"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path("x.gguf")));
}

TEST_F(GgufRoundTrip, ImportRefusesInconsistentFiles) {
  export_gguf(source(false), path("good.gguf"), GgmlType::q8_0);
  struct Case {
    std::string name, expected;
    std::function<void(GgufWriter&, const GgufFile&)> edit;
    std::function<bool(const GgufTensorInfo&)> keep;
  };
  const auto drop = [](std::string key) {
    return [key](GgufWriter& w, const GgufFile& f) {
      GgufWriter fresh;
      for (const auto& [k, v] : f.header().metadata)
        if (k != key) fresh.set(k, v);
      w = fresh;
    };
  };
  const auto set = [](std::string key, GgufValue value) {
    return [key, value](GgufWriter& w, const GgufFile&) { w.set(key, value); };
  };
  const auto nothing = [](GgufWriter&, const GgufFile&) {};
  const std::vector<Case> cases{
      {"no-arch", "'general.architecture' is missing", drop("general.architecture"), {}},
      {"gpt", "'llama' architecture only", set("general.architecture", GgufValue::string("gpt2")), {}},
      {"no-heads", "'llama.attention.head_count' is missing", drop("llama.attention.head_count"), {}},
      {"bad-heads", "do not divide evenly", set("llama.attention.head_count", GgufValue::u32(3)), {}},
      {"layers", "tensor 'blk.2.attn_norm.weight' (model.layers.2.input_layernorm.weight) is missing",
       set("llama.block_count", GgufValue::u32(3)), {}},
      {"ffn", "has dims", set("llama.feed_forward_length", GgufValue::u32(192)), {}},
      {"rope-dims", "rope.dimension_count is 8", set("llama.rope.dimension_count", GgufValue::u32(8)), {}},
      {"rope-scaling", "rope.scaling.type 'linear'", set("llama.rope.scaling.type", GgufValue::string("linear")), {}},
      {"vocab-free", "has no vocabulary", drop("tokenizer.ggml.tokens"), {}},
      {"bpe-vocab", "'gpt2'", set("tokenizer.ggml.model", GgufValue::string("gpt2")), {}},
      {"scores", "tokenizer.ggml.scores must be", set("tokenizer.ggml.scores", GgufValue::f32s({1.0f})), {}},
      {"missing-tensor", "'blk.0.ffn_up.weight' (model.layers.0.mlp.up_proj.weight) is missing", nothing,
       [](const GgufTensorInfo& t) { return t.name != "blk.0.ffn_up.weight"; }},
      {"eps", "layer_norm_rms_epsilon' must be a finite number > 0",
       set("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(-1.0f)), {}},
  };
  for (const Case& c : cases) {
    rewrite(path("good.gguf"), path(c.name + ".gguf"), c.edit, c.keep);
    const std::string message = user_error([&] { import_gguf(path(c.name + ".gguf"), path(c.name)); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.name << ": " << message;
    EXPECT_FALSE(fs::exists(path(c.name) / io::kWeightsFile)) << c.name;
  }
}

// A tensor of a type Sieve does not decode (q8_1, valid bytes for its size), and one that has no
// place in the model, are named in the error.
TEST_F(GgufRoundTrip, ImportNamesUnsupportedTensors) {
  export_gguf(source(false), path("f32.gguf"), GgmlType::f32);
  const GgufFile file(path("f32.gguf"));
  GgufWriter writer;
  for (const auto& [key, value] : file.header().metadata) writer.set(key, value);
  for (const GgufTensorInfo& t : file.header().tensors) {
    const auto bytes = file.tensor_bytes(t);
    if (t.name == "blk.0.ffn_up.weight")  // [64, 160]: two 32-element q8_1 blocks (36 bytes) a row
      writer.add_tensor(t.name, t.dims, GgmlType::q8_1, std::vector<std::byte>(160 * 2 * 36));
    else
      writer.add_tensor(t.name, t.dims, t.type, std::vector<std::byte>(bytes.begin(), bytes.end()));
  }
  writer.write(path("q81.gguf"));
  EXPECT_NE(user_error([&] { import_gguf(path("q81.gguf"), path("q81")); }).find("'blk.0.ffn_up.weight' is q8_1"),
            std::string::npos);

  GgufWriter extra;
  for (const auto& [key, value] : file.header().metadata) extra.set(key, value);
  for (const GgufTensorInfo& t : file.header().tensors) {
    const auto bytes = file.tensor_bytes(t);
    extra.add_tensor(t.name, t.dims, t.type, std::vector<std::byte>(bytes.begin(), bytes.end()));
  }
  extra.add_tensor("rope_freqs.weight", {8}, GgmlType::f32, std::vector<std::byte>(32));
  extra.write(path("extra.gguf"));
  EXPECT_NE(user_error([&] { import_gguf(path("extra.gguf"), path("extra")); }).find("'rope_freqs.weight' has no place"),
            std::string::npos);
}

}  // namespace
}  // namespace sieve::convert_gguf
