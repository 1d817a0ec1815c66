#include "sieve/autograd/engine.h"

#include <unordered_map>
#include <vector>

#include "sieve/autograd/grad_mode.h"
#include "sieve/autograd/node.h"
#include "sieve/core/parallel.h"

namespace sieve::autograd {
namespace {

using core::Tensor;

void add_into(Tensor& accumulator, const Tensor& grad) {
  SIEVE_CHECK(accumulator.dtype() == core::DType::f32 && grad.dtype() == core::DType::f32,
              "gradient accumulation supports f32, got {} and {}", core::dtype_name(accumulator.dtype()),
              core::dtype_name(grad.dtype()));
  const Tensor source = grad.contiguous();
  float* dst = accumulator.data<float>();
  const float* src = source.data<float>();
  core::parallel_for(accumulator.numel(), 1 << 15, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dst[i] += src[i];
  });
}

// Gradients flowing into one node. The first contribution is kept by reference; a second
// one allocates a fresh buffer so a tensor shared by two producers is never written.
struct PendingGrad {
  Tensor value;
  bool owned = false;

  void add(const Tensor& grad) {
    if (!value.defined()) {
      value = grad;
      return;
    }
    if (!owned) {
      value = value.clone();
      owned = true;
    }
    add_into(value, grad);
  }
};

std::vector<Node*> topological_order(Node* root) {
  // Iterative DFS post-order, then reversed: every node precedes the nodes it feeds.
  std::vector<Node*> order;
  std::vector<std::pair<Node*, std::size_t>> stack{{root, 0}};
  std::unordered_map<Node*, bool> visited{{root, true}};
  while (!stack.empty()) {
    auto& [node, next_edge] = stack.back();
    if (next_edge < node->edges().size()) {
      Node* child = node->edges()[next_edge++].node.get();
      if (child == nullptr) continue;
      if (!visited[child]) {
        visited[child] = true;
        stack.emplace_back(child, 0);
      }
      continue;
    }
    order.push_back(node);
    stack.pop_back();
  }
  return {order.rbegin(), order.rend()};
}

}  // namespace

void accumulate_leaf_grad(core::TensorImpl& leaf, const Tensor& grad) {
  SIEVE_CHECK(grad.shape() == leaf.shape, "gradient of shape {} for a leaf of shape {}",
              core::shape_string(grad.shape()), core::shape_string(leaf.shape));
  if (!leaf.grad) {
    leaf.grad = grad.clone().impl_ptr();
    return;
  }
  Tensor accumulator(leaf.grad);
  add_into(accumulator, grad);
}

void backward(const Tensor& root, const Tensor& grad_output, const BackwardOptions& options) {
  SIEVE_CHECK(root.requires_grad(), "backward() on a tensor that does not require grad");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    SIEVE_CHECK(root.numel() == 1, "backward() without a gradient needs a one-element tensor, got {}",
                core::shape_string(root.shape()));
    seed = Tensor::ones(root.shape(), root.dtype());
  }
  SIEVE_CHECK(seed.shape() == root.shape(), "gradient shape {} differs from the root's {}",
              core::shape_string(seed.shape()), core::shape_string(root.shape()));
  if (root.is_leaf()) {
    accumulate_leaf_grad(root.impl(), seed);
    return;
  }
  NoGradGuard no_grad;  // backward formulas are not themselves differentiated
  Node* root_node = root.grad_fn().get();
  const std::vector<Node*> order = topological_order(root_node);
  std::unordered_map<Node*, PendingGrad> pending;
  pending[root_node].add(seed);
  for (Node* node : order) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient reached this node
    SIEVE_CHECK(!node->released(), "backward through '{}' a second time: pass retain_graph", node->name());
    const Tensor grad = std::move(it->second.value);
    pending.erase(it);
    std::vector<Tensor> input_grads = node->apply(grad);
    if (!options.retain_graph) node->release();
    const auto& edges = node->edges();
    SIEVE_CHECK(input_grads.size() == edges.size(), "'{}' returned {} gradients for {} inputs", node->name(),
                input_grads.size(), edges.size());
    for (std::size_t i = 0; i < edges.size(); ++i) {
      const Edge& edge = edges[i];
      if (!edge.active() || !input_grads[i].defined()) continue;
      SIEVE_CHECK(input_grads[i].shape() == edge.shape, "'{}' gave a gradient of shape {} for input {} of shape {}",
                  node->name(), core::shape_string(input_grads[i].shape()), i, core::shape_string(edge.shape));
      if (edge.leaf) {
        accumulate_leaf_grad(*edge.leaf, input_grads[i]);
      } else {
        pending[edge.node.get()].add(input_grads[i]);
      }
    }
  }
}

}  // namespace sieve::autograd
