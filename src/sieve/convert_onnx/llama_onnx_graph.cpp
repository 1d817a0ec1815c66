#include "sieve/convert_onnx/llama_onnx_graph.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "fmt/format.h"
#include "sieve/convert_onnx/onnx_graph_builder.h"
#include "sieve/convert_onnx/onnx_linear.h"
#include "sieve/core/error.h"

// Letters: B batch, T new tokens, P past tokens, S = P + T, C channels, H query heads, Hkv key/value
// heads, G = H / Hkv, D head dim, V vocab.
namespace sieve::convert_onnx {
namespace {

using core::Tensor;
using onnx::TensorProto;

constexpr std::int64_t kOpset = 17;
constexpr std::int64_t kIrVersion = 8;  // the IR version of opset 17 (ONNX 1.12)

std::string tensor_bytes(const Tensor& tensor) {
  const Tensor values = tensor.contiguous();
  std::string bytes(values.nbytes(), '\0');
  std::memcpy(bytes.data(), values.data<float>(), bytes.size());
  return bytes;
}

class LlamaGraphWriter {
 public:
  LlamaGraphWriter(const nn::LlamaForCausalLM& model, LlamaOnnxGraphKind kind, onnx::GraphProto& graph)
      : config_(model.config()), with_past_(kind == LlamaOnnxGraphKind::with_past), g_(graph) {
    for (auto& [name, tensor] : model.named_parameters()) parameters_.emplace(name, tensor);
    for (const auto& [name, module] : model.named_modules())
      if (const auto* linear = dynamic_cast<const nn::Linear*>(module.get())) linears_.emplace(name, linear);
  }

  void write() {
    const std::int64_t V = config_.vocab_size;
    declare_inputs();
    // logits first, then present.* in layer order, as Hugging Face Optimum orders the outputs.
    g_.output("logits", TensorProto::FLOAT, {"batch_size", "sequence_length", V});
    positions_and_mask();
    const std::string embed = parameter("model.embed_tokens.weight");
    std::string h = g_.node("Gather", {embed, "input_ids"});  // [B, T, C]
    for (std::int64_t layer = 0; layer < config_.num_hidden_layers; ++layer) h = block(h, layer);
    h = rms_norm(h, "model.norm.weight");
    g_.alias(head(h, embed), "logits");
  }

 private:
  // The LM head [B, T, C] → [B, T, V]: lm_head, or the embedding's transpose when tied.
  std::string head(const std::string& h, const std::string& embed) {
    if (!config_.tie_word_embeddings) return linear(h, "lm_head");
    return g_.node("MatMul", {h, g_.node("Transpose", {embed}, {{"perm", std::vector<std::int64_t>{1, 0}}})});
  }

  void declare_inputs() {
    const std::int64_t Hkv = config_.num_key_value_heads, D = config_.head_dim();
    g_.input("input_ids", TensorProto::INT64, {"batch_size", "sequence_length"});
    g_.input("attention_mask", TensorProto::INT64, {"batch_size", "total_sequence_length"});
    if (!with_past_) return;
    for (std::int64_t layer = 0; layer < config_.num_hidden_layers; ++layer)
      for (const char* part : {"key", "value"})
        g_.input(fmt::format("past_key_values.{}.{}", layer, part), TensorProto::FLOAT,
                 {"batch_size", Hkv, "past_sequence_length", D});
  }

  // What every layer shares: the RoPE cos/sin of each new token's position [B, 1, T, D/2] and which
  // keys each query may attend to, allowed_ bool [B, 1, T, S].
  void positions_and_mask() {
    const std::string tokens = slice(g_.node("Shape", {"input_ids"}), 1, 2, 0);  // T, [1]
    const std::string past =
        with_past_ ? slice(g_.node("Shape", {"past_key_values.0.key"}), 2, 3, 0) : g_.int64s({0});  // P, [1]
    const std::string total = g_.node("Add", {past, tokens});                                       // S, [1]
    const std::string mask = "attention_mask";                                                      // [B, S]
    // Positions as transformers' generate() derives them: cumsum(mask) − 1, and 1 where mask is 0.
    const std::string counted = g_.node("Sub", {g_.node("CumSum", {mask, g_.int64_scalar(1)}), g_.int64s({1})});
    const std::string padding = g_.node("Equal", {mask, g_.int64s({0})});
    const std::string all_positions = g_.node("Where", {padding, g_.int64s({1}), counted});        // [B, S]
    const std::string positions = g_.node("Slice", {all_positions, past, total, g_.int64s({1})});  // [B, T]
    const auto table = rope_tables();
    cos_ = g_.node("Unsqueeze", {g_.node("Gather", {table.first, positions}), g_.int64s({1})});
    sin_ = g_.node("Unsqueeze", {g_.node("Gather", {table.second, positions}), g_.int64s({1})});
    // Causal: key j is visible to the query at position P + i when j <= P + i; and its mask is 1.
    const std::string zero = g_.int64_scalar(0), step = g_.int64_scalar(1);
    const std::string past_scalar = g_.node("Squeeze", {past}), total_scalar = g_.node("Squeeze", {total});
    const std::string keys =
        g_.node("Unsqueeze", {g_.node("Range", {zero, total_scalar, step}), g_.int64s({0})});  // [1, S]
    const std::string queries =
        g_.node("Unsqueeze", {g_.node("Range", {past_scalar, total_scalar, step}), g_.int64s({1})});  // [T, 1]
    const std::string causal = g_.node("LessOrEqual", {keys, queries});                               // [T, S]
    const std::string unpadded = g_.node(
        "Unsqueeze",
        {g_.node("Cast", {mask}, {{"to", std::int64_t{TensorProto::BOOL}}}), g_.int64s({1, 2})});  // [B, 1, 1, S]
    allowed_ = g_.node("And", {causal, unpadded});                                                 // [B, 1, T, S]
    masked_score_ = g_.float_scalar(std::numeric_limits<float>::lowest());
  }

  // cos and sin of p · θ^(−2i/D) for p < max_position_embeddings, [positions, D/2], computed as
  // Sieve's RoPE kernel computes them (θ rounded to f32, angles in double), so the values are equal.
  std::pair<std::string, std::string> rope_tables() {
    const std::int64_t D = config_.head_dim(), half = D / 2, rows = config_.max_position_embeddings;
    const double theta = static_cast<float>(config_.rope_theta);
    std::vector<float> cos(static_cast<std::size_t>(rows * half)), sin(cos.size());
    for (std::int64_t p = 0; p < rows; ++p)
      for (std::int64_t i = 0; i < half; ++i) {
        const double angle =
            static_cast<double>(p) * std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(D));
        cos[static_cast<std::size_t>(p * half + i)] = static_cast<float>(std::cos(angle));
        sin[static_cast<std::size_t>(p * half + i)] = static_cast<float>(std::sin(angle));
      }
    const auto bytes = [](const std::vector<float>& values) {
      return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    };
    return {g_.initializer("rope.cos", TensorProto::FLOAT, {rows, half}, bytes(cos)),
            g_.initializer("rope.sin", TensorProto::FLOAT, {rows, half}, bytes(sin))};
  }

  std::string block(const std::string& x, std::int64_t layer) {  // [B, T, C] → [B, T, C]
    const std::string prefix = fmt::format("model.layers.{}.", layer);
    const std::string attended = g_.node("Add", {x, attention(rms_norm(x, prefix + "input_layernorm.weight"), layer)});
    return g_.node("Add",
                   {attended, mlp(rms_norm(attended, prefix + "post_attention_layernorm.weight"), prefix + "mlp.")});
  }

  // x · rsqrt(mean(x²) + eps) · weight over the last axis.
  std::string rms_norm(const std::string& x, const std::string& weight) {
    const std::string mean_square = g_.node("ReduceMean", {g_.node("Mul", {x, x})},
                                            {{"axes", std::vector<std::int64_t>{-1}}, {"keepdims", std::int64_t{1}}});
    const std::string rstd = g_.node(
        "Reciprocal",
        {g_.node("Sqrt", {g_.node("Add", {mean_square, g_.float_scalar(static_cast<float>(config_.rms_norm_eps))})})});
    return g_.node("Mul", {g_.node("Mul", {x, rstd}), parameter(weight)});
  }

  // down(silu(gate(x)) · up(x))
  std::string mlp(const std::string& x, const std::string& prefix) {
    const std::string gate = linear(x, prefix + "gate_proj");
    const std::string silu = g_.node("Mul", {gate, g_.node("Sigmoid", {gate})});
    return linear(g_.node("Mul", {silu, linear(x, prefix + "up_proj")}), prefix + "down_proj");
  }

  // [B, T, heads·D] → [B, heads, T, D]
  std::string heads_first(const std::string& x, std::int64_t heads) {
    const std::string split = g_.node("Reshape", {x, g_.int64s({0, 0, heads, config_.head_dim()})});
    return g_.node("Transpose", {split}, {{"perm", std::vector<std::int64_t>{0, 2, 1, 3}}});
  }

  // Rotates the pairs (i, i + D/2) of x [B, heads, T, D] by the positions' angles.
  std::string rope(const std::string& x) {
    const std::int64_t D = config_.head_dim();
    const std::string x1 = slice(x, 0, D / 2, 3), x2 = slice(x, D / 2, D, 3);
    const std::string y1 = g_.node("Sub", {g_.node("Mul", {x1, cos_}), g_.node("Mul", {x2, sin_})});
    const std::string y2 = g_.node("Add", {g_.node("Mul", {x2, cos_}), g_.node("Mul", {x1, sin_})});
    return g_.node("Concat", {y1, y2}, {{"axis", std::int64_t{3}}});
  }

  // The keys or values of all S positions [B, Hkv, S, D]: the past's and the new ones, which are
  // also the graph's present.N.<part>.
  std::string joined_with_past(const std::string& fresh, std::int64_t layer, const char* part) {
    const std::string all = with_past_ ? g_.node("Concat", {fmt::format("past_key_values.{}.{}", layer, part), fresh},
                                                 {{"axis", std::int64_t{2}}})
                                       : fresh;
    const std::string name = fmt::format("present.{}.{}", layer, part);
    g_.alias(all, name);
    g_.output(name, TensorProto::FLOAT,
              {"batch_size", config_.num_key_value_heads, "total_sequence_length", config_.head_dim()});
    return all;
  }

  // [B, Hkv, S, D] → [B, H, S, D]: each key/value head serves G consecutive query heads.
  std::string repeat_kv(const std::string& x) {
    const std::int64_t H = config_.num_attention_heads, G = H / config_.num_key_value_heads;
    if (G == 1) return x;
    const std::string expanded =
        g_.node("Expand", {g_.node("Unsqueeze", {x, g_.int64s({2})}), g_.int64s({1, 1, G, 1, 1})});
    return g_.node("Reshape", {expanded, g_.int64s({0, H, -1, config_.head_dim()})});
  }

  std::string attention(const std::string& x, std::int64_t layer) {  // [B, T, C] → [B, T, C]
    const std::string prefix = fmt::format("model.layers.{}.self_attn.", layer);
    const std::int64_t H = config_.num_attention_heads, Hkv = config_.num_key_value_heads, D = config_.head_dim();
    const std::string q = rope(heads_first(linear(x, prefix + "q_proj"), H));  // [B, H, T, D]
    const std::string k =
        repeat_kv(joined_with_past(rope(heads_first(linear(x, prefix + "k_proj"), Hkv)), layer, "key"));
    const std::string v = repeat_kv(joined_with_past(heads_first(linear(x, prefix + "v_proj"), Hkv), layer, "value"));
    const std::string k_t = g_.node("Transpose", {k}, {{"perm", std::vector<std::int64_t>{0, 1, 3, 2}}});
    const std::string scores = g_.node(
        "Mul",
        {g_.node("MatMul", {q, k_t}), g_.float_scalar(static_cast<float>(1.0 / std::sqrt(static_cast<double>(D))))});
    const std::string weights =
        g_.node("Softmax", {g_.node("Where", {allowed_, scores, masked_score_})}, {{"axis", std::int64_t{-1}}});
    const std::string context = g_.node("Transpose", {g_.node("MatMul", {weights, v})},
                                        {{"perm", std::vector<std::int64_t>{0, 2, 1, 3}}});  // [B, T, H, D]
    return linear(g_.node("Reshape", {context, g_.int64s({0, 0, H * D})}), prefix + "o_proj");
  }

  std::string linear(const std::string& x, const std::string& path) {
    const auto found = linears_.find(path);
    SIEVE_CHECK(found != linears_.end(), "no Linear {} in the model", path);
    return linear_nodes(g_, *found->second, path, x);
  }

  // The initializer of the f32 parameter `name` (added on first use).
  std::string parameter(const std::string& name) {
    if (!added_.insert(name).second) return name;
    const auto found = parameters_.find(name);
    SIEVE_CHECK(found != parameters_.end(), "no parameter {} in the model", name);
    const Tensor& tensor = found->second;
    return g_.initializer(name, TensorProto::FLOAT, tensor.shape(), tensor_bytes(tensor));
  }

  // x[start:end] along `axis`.
  std::string slice(const std::string& x, std::int64_t start, std::int64_t end, std::int64_t axis) {
    return g_.node("Slice", {x, g_.int64s({start}), g_.int64s({end}), g_.int64s({axis})});
  }

  const nn::LlamaConfig& config_;
  const bool with_past_;
  OnnxGraphBuilder g_;
  std::map<std::string, Tensor> parameters_;
  std::map<std::string, const nn::Linear*> linears_;
  std::set<std::string> added_;
  std::string cos_, sin_, allowed_, masked_score_;
};

}  // namespace

void build_llama_onnx_model(const nn::LlamaForCausalLM& model, LlamaOnnxGraphKind kind, onnx::ModelProto& out) {
  out.Clear();
  out.set_ir_version(kIrVersion);
  out.set_producer_name("sieve");
  out.set_doc_string("LLaMA-style decoder exported by `sieve export --format onnx`");
  onnx::OperatorSetIdProto* opset = out.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::GraphProto* graph = out.mutable_graph();
  graph->set_name(kind == LlamaOnnxGraphKind::prefill ? "sieve_llama" : "sieve_llama_with_past");
  LlamaGraphWriter(model, kind, *graph).write();
}

}  // namespace sieve::convert_onnx
