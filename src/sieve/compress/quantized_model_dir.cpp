#include "sieve/compress/quantized_model_dir.h"

#include <cmath>
#include <map>
#include <set>

#include "sieve/compress/quantization_config.h"
#include "sieve/compress/quantize_model.h"
#include "sieve/compress/quantized_footprint.h"
#include "sieve/compress/quantized_linear.h"
#include "sieve/core/atomic_file.h"
#include "sieve/core/error.h"
#include "sieve/io/model_config.h"
#include "sieve/io/model_dir.h"
#include "sieve/io/safetensors.h"

namespace sieve::compress {
namespace {

namespace fs = std::filesystem;
using core::DType;
using core::Tensor;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

struct ExpectedTensor {
  std::string name;
  DType dtype;
  core::Shape shape;
  std::string why;  // for messages: "int4 layer 'lm_head', group_size 64"
};

// The tensors a quantized Linear stores (quantized_model_dir.h).
void add_layer_tensors(const std::string& path, const nn::Linear& linear, Precision precision,
                       const QuantizationPlan& plan, std::vector<ExpectedTensor>& out) {
  const std::int64_t M = linear.out_features(), K = linear.in_features();
  if (precision == Precision::int8) {
    const std::string why = "int8 layer '" + path + "'";
    out.push_back({path + ".weight", DType::i8, {M, K}, why});
    out.push_back({path + ".weight_scale", DType::f32, {M}, why});
    if (plan.activations == ActivationMode::calibrated)
      out.push_back({path + ".input_scale", DType::f32, {1}, why + " with static activations"});
  } else {
    const std::string why = fmt::format("int4 layer '{}', group_size {}", path, plan.group_size);
    out.push_back({path + ".weight_packed", DType::u8, {M, ceil_div(K, 2)}, why});
    out.push_back({path + ".weight_scale", plan.int4_scale_dtype, {M, ceil_div(K, plan.group_size)}, why});
  }
}

// Every tensor of the header present with its dtype and shape, and no others.
void check_header(const io::SafetensorsFile& weights, const std::vector<ExpectedTensor>& expected,
                  const std::string& described_by) {
  const std::string source = weights.path().string();
  std::set<std::string_view> names;
  for (const ExpectedTensor& e : expected) {
    names.insert(e.name);
    const io::SafetensorsEntry* entry = weights.header().find(e.name);
    SIEVE_USER_CHECK(entry != nullptr, "{}: no tensor '{}' ({} in {})", source, e.name, e.why, described_by);
    SIEVE_USER_CHECK(entry->dtype == e.dtype && entry->shape == e.shape, "{}: tensor '{}' is {} {}, but {} needs {} {} ({})",
                     source, e.name, core::dtype_safetensors_name(entry->dtype), core::shape_string(entry->shape),
                     described_by, core::dtype_safetensors_name(e.dtype), core::shape_string(e.shape), e.why);
  }
  for (const auto& entry : weights.header().entries)
    SIEVE_USER_CHECK(names.contains(entry.name), "{}: unexpected tensor '{}' (not part of the model {} describes)",
                     source, entry.name, described_by);
}

// A scale tensor as f32 in memory whose values are finite and >= 0 (> 0 when `positive`).
Tensor read_scales(const io::SafetensorsFile& weights, const std::string& name, bool positive) {
  Tensor stored = weights.tensor(name);
  Tensor scales = stored;
  if (stored.dtype() == DType::f16) {
    scales = Tensor::empty(stored.shape());
    const auto* half = stored.data<std::uint16_t>();
    float* f = scales.data<float>();
    for (std::int64_t i = 0; i < stored.numel(); ++i) f[i] = core::f16_bits_to_f32(half[i]);
  }
  const float* s = scales.data<float>();
  for (std::int64_t i = 0; i < scales.numel(); ++i)
    SIEVE_USER_CHECK(std::isfinite(s[i]) && (positive ? s[i] > 0.0f : s[i] >= 0.0f),
                     "{}: tensor '{}' holds {} at element {}; scales must be finite and {}", weights.path().string(),
                     name, s[i], i, positive ? "> 0" : ">= 0");
  return scales;
}

std::shared_ptr<nn::LinearWeightFormat> read_layer(const io::SafetensorsFile& weights, const std::string& path,
                                                   const nn::Linear& linear, Precision precision,
                                                   const QuantizationPlan& plan) {
  Tensor scales = read_scales(weights, path + ".weight_scale", false);
  if (precision == Precision::int4) {
    return std::make_shared<Int4LinearFormat>(weights.tensor(path + ".weight_packed"), std::move(scales),
                                              linear.in_features(), plan.group_size, plan.int4_scale_dtype);
  }
  Tensor q = weights.tensor(path + ".weight");
  const auto* values = q.data<std::int8_t>();
  for (std::int64_t i = 0; i < q.numel(); ++i)
    SIEVE_USER_CHECK(values[i] != -128, "{}: tensor '{}' holds -128 at element {}; INT8 weights are in [-127, 127]",
                     weights.path().string(), path + ".weight", i);
  kernels::cpu::Int8Activation activation;
  if (plan.activations == ActivationMode::calibrated) {
    activation.dynamic = false;
    activation.static_scale = read_scales(weights, path + ".input_scale", true).data<float>()[0];
  }
  return std::make_shared<Int8LinearFormat>(std::move(q), std::move(scales), activation);
}

Tensor f16_copy(const Tensor& f32) {
  Tensor half = Tensor::empty(f32.shape(), DType::f16);
  const float* f = f32.data<float>();
  auto* h = half.data<std::uint16_t>();
  for (std::int64_t i = 0; i < f32.numel(); ++i) h[i] = core::f32_to_f16_bits(f[i]);
  return half;
}

}  // namespace

bool is_quantized_model_dir(const fs::path& dir) {
  const fs::path config = dir / io::kConfigFile;
  if (!fs::is_regular_file(config)) return false;
  return io::read_config_json(config).contains(io::kQuantizationSection);
}

void save_quantized_model(const nn::LlamaForCausalLM& model, const fs::path& dir) {
  const QuantizationPlan plan = plan_of(model);
  std::vector<std::pair<std::string, Tensor>> tensors = model.named_parameters();
  for (const auto& [path, linear] : model_linears(model)) {
    if (const auto* int8 = dynamic_cast<const Int8LinearFormat*>(linear->weight_format())) {
      tensors.emplace_back(path + ".weight", int8->q());
      tensors.emplace_back(path + ".weight_scale", int8->scales());
      if (!int8->activation().dynamic)
        tensors.emplace_back(path + ".input_scale", Tensor::full({1}, int8->activation().static_scale));
    } else if (const auto* int4 = dynamic_cast<const Int4LinearFormat*>(linear->weight_format())) {
      tensors.emplace_back(path + ".weight_packed", int4->packed());
      tensors.emplace_back(path + ".weight_scale",
                           int4->file_scale_dtype() == DType::f16 ? f16_copy(int4->scales()) : int4->scales());
    }
  }
  fs::create_directories(dir);
  nlohmann::json config = io::llama_config_to_json(model.config());
  config[io::kQuantizationSection] = quantization_section(plan);
  core::write_file_atomically(dir / io::kConfigFile, config.dump(2) + "\n");
  io::save_safetensors(dir / io::kWeightsFile, tensors, {{"format", "pt"}, {"sieve.quantization", plan.scheme}});
}

std::unique_ptr<nn::LlamaForCausalLM> load_quantized_model(const fs::path& dir,
                                                           const std::function<void(nn::LlamaConfig&)>& adjust) {
  SIEVE_USER_CHECK(fs::is_directory(dir), "model directory '{}' does not exist", dir.string());
  const std::string config_file = (dir / io::kConfigFile).string();
  const nlohmann::json json = io::read_config_json(config_file);
  SIEVE_USER_CHECK(json.contains(io::kQuantizationSection), "{}: no '{}' section: not a quantized model", config_file,
                   io::kQuantizationSection);
  nn::LlamaConfig config = io::parse_llama_config(json, config_file);
  std::string described_by = config_file;
  if (adjust) {
    adjust(config);
    described_by += " (with the command-line attention settings)";
  }
  const QuantizationPlan plan = parse_quantization_section(json[io::kQuantizationSection], config_file);
  check_quantized_model_fits(config, plan, described_by);  // the model's quantized size, not its f32 one
  const io::SafetensorsFile weights(dir / io::kWeightsFile);

  std::unique_ptr<nn::LlamaForCausalLM> model;
  {
    nn::SkipParameterInitGuard skip_init;  // every parameter is read from the file or released
    model = std::make_unique<nn::LlamaForCausalLM>(config, 0);
  }
  validate_plan(plan, *model, config_file);
  std::map<std::string, std::pair<nn::Linear*, Precision>> quantized;  // by weight name
  std::vector<ExpectedTensor> expected;
  for (const auto& [path, linear] : model_linears(*model)) {
    const auto it = plan.layers.find(path);
    if (it == plan.layers.end() || it->second == Precision::f32) continue;
    quantized.emplace(path + ".weight", std::pair{linear, it->second});
    add_layer_tensors(path, *linear, it->second, plan, expected);
  }
  const nn::NamedTensors parameters = model->named_parameters();
  for (const auto& [name, parameter] : parameters)
    if (!quantized.contains(name)) expected.push_back({name, DType::f32, parameter.shape(), "a parameter"});
  check_header(weights, expected, described_by);

  for (const auto& [weight_name, layer] : quantized) {
    const std::string path = weight_name.substr(0, weight_name.size() - std::string_view(".weight").size());
    layer.first->set_weight_format(read_layer(weights, path, *layer.first, layer.second, plan), /*release_weight=*/true);
  }
  for (const auto& [name, parameter] : parameters)
    if (!quantized.contains(name)) Tensor(parameter).copy_from(weights.tensor(name));
  freeze_for_inference(*model);
  return model;
}

}  // namespace sieve::compress
