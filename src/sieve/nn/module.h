// Module: a node of the model tree that owns named parameters and child modules.
// Parameter names join the path with dots ("model.layers.0.self_attn.q_proj.weight"), the
// same names a checkpoint and a Hugging Face model directory use.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sieve/core/rng.h"
#include "sieve/core/tensor.h"

namespace sieve::nn {

using core::Shape;
using core::Tensor;

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its children, in registration order.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::int64_t parameter_count() const;
  // Trainable (requires_grad) share only.
  std::int64_t trainable_parameter_count() const;

  // Every descendant module with its dotted path ("model.layers.0.self_attn"), parents before
  // children, in registration order; the module itself is not included.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;

  // Training mode turns dropout on; propagates to children.
  void set_training(bool training);
  bool training() const { return training_; }
  void zero_grad();

 protected:
  // Registers `value` (a leaf; requires_grad is set) under `name` and returns the stored handle.
  Tensor& register_parameter(std::string name, Tensor value);
  // Drops the parameter `name` from this module's list (it must be there); the caller releases
  // its own handle. Used when a layer's weight is replaced by another format (a quantized one).
  void unregister_parameter(const std::string& name);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    children_.emplace_back(std::move(name), module);
    return module;
  }

 private:
  void collect(const std::string& prefix, NamedTensors& out) const;
  void collect_modules(const std::string& prefix,
                       std::vector<std::pair<std::string, std::shared_ptr<Module>>>& out) const;

  NamedTensors parameters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A tensor of `shape` drawn from N(0, std²) with `rng` — or, while a SkipParameterInitGuard is
// alive on this thread, uninitialised memory (rng untouched).
Tensor normal_tensor(const Shape& shape, double std, core::Rng& rng);

// For building a model whose every parameter is overwritten right after (loading a quantized
// directory): the random initialisation is skipped, so a weight that is released before it is
// written never costs its time nor, for large blocks, resident memory. Thread-local.
class SkipParameterInitGuard {
 public:
  SkipParameterInitGuard();
  ~SkipParameterInitGuard();
  SkipParameterInitGuard(const SkipParameterInitGuard&) = delete;
  SkipParameterInitGuard& operator=(const SkipParameterInitGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace sieve::nn
