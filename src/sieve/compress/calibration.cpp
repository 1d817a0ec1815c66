#include "sieve/compress/calibration.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "sieve/autograd/grad_mode.h"
#include "sieve/compress/quantization_plan.h"
#include "sieve/core/error.h"
#include "sieve/ops/linear.h"

namespace sieve::compress {
namespace {

// The f32 product, watching its input. Forward passes of one model run one at a time, so the
// running maximum needs no lock.
class ObservingFormat final : public nn::LinearWeightFormat {
 public:
  core::Tensor product(const core::Tensor& x, const core::Tensor& weight) const override {
    const core::Tensor c = x.contiguous();
    const float* data = c.data<float>();
    float m = max_abs_;
    for (std::int64_t i = 0; i < c.numel(); ++i) m = std::max(m, std::abs(data[i]));
    max_abs_ = m;
    return ops::linear(x, weight);
  }
  std::string describe() const override { return "f32 (calibrating)"; }
  std::int64_t weight_bytes() const override { return 0; }
  float max_abs() const { return max_abs_; }

 private:
  mutable float max_abs_ = 0.0f;
};

}  // namespace

std::map<std::string, float> calibrate_input_ranges(nn::LlamaForCausalLM& model, const std::vector<std::string>& layers,
                                                    const std::vector<core::Tensor>& batches) {
  SIEVE_USER_CHECK(!batches.empty(), "calibration needs at least one batch of tokens");
  std::map<std::string, nn::Linear*> linears;
  for (const auto& [path, linear] : model_linears(model)) linears.emplace(path, linear);
  std::vector<std::pair<nn::Linear*, std::shared_ptr<ObservingFormat>>> observed;
  for (const std::string& path : layers) {
    const auto it = linears.find(path);
    SIEVE_CHECK(it != linears.end(), "calibration: '{}' is not a Linear of the model", path);
    SIEVE_CHECK(it->second->weight_format() == nullptr, "calibration: '{}' already has a weight format", path);
    observed.emplace_back(it->second, std::make_shared<ObservingFormat>());
  }
  const auto detach_all = [&] {
    for (auto& [linear, format] : observed) linear->set_weight_format(nullptr, false);
  };
  for (auto& [linear, format] : observed) linear->set_weight_format(format, false);
  try {
    autograd::NoGradGuard no_grad;
    for (const core::Tensor& ids : batches) model.forward(ids);
  } catch (...) {
    detach_all();
    throw;
  }
  detach_all();
  std::map<std::string, float> ranges;
  for (std::size_t i = 0; i < layers.size(); ++i) ranges.emplace(layers[i], observed[i].second->max_abs());
  return ranges;
}

}  // namespace sieve::compress
