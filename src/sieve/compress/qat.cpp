#include "sieve/compress/qat.h"

#include <memory>

#include <fmt/format.h>

#include "sieve/compress/quantization_plan.h"
#include "sieve/compress/quantized_linear.h"
#include "sieve/core/error.h"
#include "sieve/ops/fake_quantize.h"
#include "sieve/ops/linear.h"

// NOTE [Quantization-aware training]
// The forward uses exactly the quantizer of the deployed model (kernels/cpu/quantized_linear.h):
//   int8: x̂ = per-token INT8 image of x, Ŵ = per-output-channel INT8 image of W, y = x̂·Ŵᵀ
//   int4: Ŵ = INT4 image of W in groups of G inputs, y = x·Ŵᵀ
// so the fake-quantized loss is the loss the quantized model will have, up to f32 summation
// order. Scales are tracked: recomputed from the current values at every forward (max |·| of
// each channel, token or group), never learned, so nothing is clipped. The straight-through
// estimator passes the gradient of Ŵ (and x̂) to W (and x) unchanged (ops/fake_quantize.h).

namespace sieve::compress {
namespace {

using core::Tensor;

constexpr int kInt8Max = 127;
constexpr int kInt4Max = 7;

class FakeQuantizedProduct final : public nn::LinearWeightFormat {
 public:
  FakeQuantizedProduct(QatOptions options, std::int64_t weight_bytes)
      : options_(std::move(options)), weight_bytes_(weight_bytes) {}

  Tensor product(const Tensor& x, const Tensor& weight) const override {
    if (options_.scheme == "int8")
      return ops::linear(ops::fake_quantize(x, 0, kInt8Max), ops::fake_quantize(weight, 0, kInt8Max));
    return ops::linear(x, ops::fake_quantize(weight, options_.group_size, kInt4Max));
  }
  std::string describe() const override {
    return options_.scheme == "int8" ? std::string("qat int8") : fmt::format("qat int4 g{}", options_.group_size);
  }
  // Training keeps the f32 weight.
  std::int64_t weight_bytes() const override { return weight_bytes_; }

 private:
  QatOptions options_;
  std::int64_t weight_bytes_ = 0;
};

void check_options(const QatOptions& options) {
  SIEVE_USER_CHECK(options.scheme == "int8" || options.scheme == "int4",
                   "--qat: unknown scheme '{}' (expected int8 or int4)", options.scheme);
  if (options.scheme == "int4")
    SIEVE_USER_CHECK(is_valid_int4_group_size(options.group_size),
                     "--qat-group-size: {} is not an INT4 group size (expected a multiple of 32 from 32 to 128)", options.group_size);
}

}  // namespace

std::vector<std::string> apply_qat(nn::LlamaForCausalLM& model, const QatOptions& options) {
  check_options(options);
  std::vector<std::string> paths;
  for (auto& [path, linear] : model_linears(model)) {
    if (!quantized_by_default(path)) continue;
    const std::int64_t bytes = linear->in_features() * linear->out_features() * std::int64_t{sizeof(float)};
    linear->set_weight_format(std::make_shared<const FakeQuantizedProduct>(options, bytes), false);
    paths.push_back(path);
  }
  return paths;
}

void remove_qat(nn::LlamaForCausalLM& model) {
  for (auto& [path, linear] : model_linears(model))
    if (dynamic_cast<const FakeQuantizedProduct*>(linear->weight_format()) != nullptr) linear->set_weight_format(nullptr, false);
}

}  // namespace sieve::compress
