// A node of the autograd graph: one differentiable op application with a single output.
//
// NOTE [Graph edges]: a node keeps, per input, either the input's own node (a non-leaf) or
// the input's TensorImpl (a leaf that requires grad, e.g. a Parameter, whose .grad receives
// the gradient). It never keeps a non-leaf input's storage: what backward needs, the op
// saves explicitly, so memory held by the graph is exactly the saved activations.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sieve/core/tensor.h"

namespace sieve::autograd {

using core::Tensor;

struct Edge {
  std::shared_ptr<Node> node;              // set for an input produced by another op
  std::shared_ptr<core::TensorImpl> leaf;  // set for a leaf input that requires grad
  core::Shape shape;                       // the input's shape: backward must return exactly this
  bool active() const { return node != nullptr || leaf != nullptr; }
};

class Node {
 public:
  using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

  Node(std::string name, BackwardFn backward) : name_(std::move(name)), backward_(std::move(backward)) {}

  const std::string& name() const { return name_; }
  const std::vector<Edge>& edges() const { return edges_; }
  // Returns one gradient per input (undefined where the input needs none).
  std::vector<Tensor> apply(const Tensor& grad_output) const { return backward_(grad_output); }
  // Drops the saved tensors once backward has run, so activations are freed early.
  void release() { backward_ = nullptr; }
  bool released() const { return !backward_; }

 private:
  friend void record(Tensor& output, const std::string& name, std::initializer_list<const Tensor*> inputs,
                     BackwardFn backward);
  std::string name_;
  BackwardFn backward_;
  std::vector<Edge> edges_;
};

// True when grad mode is on and some input requires grad: the op must record.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Attaches a node to `output` whose backward maps d(output) to d(inputs) (same order as
// `inputs`). Call only when needs_grad(inputs).
void record(Tensor& output, const std::string& name, std::initializer_list<const Tensor*> inputs,
            Node::BackwardFn backward);

}  // namespace sieve::autograd
