// Reverse-mode differentiation over the recorded graph.
#pragma once

#include "sieve/core/tensor.h"

namespace sieve::autograd {

struct BackwardOptions {
  // Keep saved tensors so backward can run again over the same graph.
  bool retain_graph = false;
};

// Propagates `grad_output` (default: ones, for a one-element root) from `root` to every leaf
// that requires grad, accumulating into the leaves' .grad. Nodes run in reverse topological
// order; a node's gradient is complete before it runs.
void backward(const core::Tensor& root, const core::Tensor& grad_output = {},
              const BackwardOptions& options = {});

// Adds `grad` into leaf->grad (allocating it on first use). f32 only.
void accumulate_leaf_grad(core::TensorImpl& leaf, const core::Tensor& grad);

}  // namespace sieve::autograd
