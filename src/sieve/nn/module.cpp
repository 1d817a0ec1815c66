#include "sieve/nn/module.h"

#include <algorithm>

#include "sieve/core/error.h"

namespace sieve::nn {

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", out);
  return out;
}

void Module::collect(const std::string& prefix, NamedTensors& out) const {
  for (const auto& [name, tensor] : parameters_) out.emplace_back(prefix + name, tensor);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  collect_modules("", out);
  return out;
}

void Module::collect_modules(const std::string& prefix,
                             std::vector<std::pair<std::string, std::shared_ptr<Module>>>& out) const {
  for (const auto& [name, child] : children_) {
    out.emplace_back(prefix + name, child);
    child->collect_modules(prefix + name + ".", out);
  }
}

void Module::unregister_parameter(const std::string& name) {
  const auto it = std::find_if(parameters_.begin(), parameters_.end(), [&](const auto& entry) { return entry.first == name; });
  SIEVE_CHECK(it != parameters_.end(), "unregister_parameter: this module has no parameter '{}'", name);
  parameters_.erase(it);
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

std::int64_t Module::parameter_count() const {
  std::int64_t count = 0;
  for (const auto& [name, tensor] : named_parameters()) count += tensor.numel();
  return count;
}

std::int64_t Module::trainable_parameter_count() const {
  std::int64_t count = 0;
  for (const auto& [name, tensor] : named_parameters())
    if (tensor.requires_grad()) count += tensor.numel();
  return count;
}

void Module::set_training(bool training) {
  training_ = training;
  for (auto& [name, child] : children_) child->set_training(training);
}

void Module::zero_grad() {
  for (auto& [name, tensor] : named_parameters()) tensor.zero_grad();
}

Tensor& Module::register_parameter(std::string name, Tensor value) {
  value.set_requires_grad(true);
  parameters_.emplace_back(std::move(name), std::move(value));
  return parameters_.back().second;
}

namespace {
thread_local bool g_skip_parameter_init = false;
}  // namespace

SkipParameterInitGuard::SkipParameterInitGuard() : previous_(g_skip_parameter_init) { g_skip_parameter_init = true; }
SkipParameterInitGuard::~SkipParameterInitGuard() { g_skip_parameter_init = previous_; }

Tensor normal_tensor(const Shape& shape, double std, core::Rng& rng) {
  Tensor t = Tensor::empty(shape);
  if (g_skip_parameter_init) return t;
  float* data = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = static_cast<float>(rng.normal() * std);
  return t;
}

}  // namespace sieve::nn
