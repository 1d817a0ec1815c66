#include "sieve/autograd/node.h"

#include "sieve/autograd/grad_mode.h"

namespace sieve::autograd {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor* input : inputs)
    if (input != nullptr && input->defined() && input->requires_grad()) return true;
  return false;
}

void record(Tensor& output, const std::string& name, std::initializer_list<const Tensor*> inputs,
            Node::BackwardFn backward) {
  auto node = std::make_shared<Node>(name, std::move(backward));
  node->edges_.reserve(inputs.size());
  for (const Tensor* input : inputs) {
    Edge edge;
    if (input != nullptr && input->defined() && input->requires_grad()) {
      edge.shape = input->shape();
      if (input->is_leaf()) {
        edge.leaf = input->impl_ptr();
      } else {
        edge.node = input->grad_fn();
      }
    }
    node->edges_.push_back(std::move(edge));
  }
  output.set_requires_grad(true);
  output.set_grad_fn(std::move(node));
}

}  // namespace sieve::autograd
