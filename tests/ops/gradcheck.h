// Finite-difference gradient checker for ops tests.
//
// gradcheck(forward, inputs) checks, for every f32 input that requires grad, the gradient the
// autograd graph computes against central differences of the scalar
//     L(inputs) = sum(forward(inputs) * W)
// where W is a fixed random tensor of the output's shape. The analytic side is
// autograd::backward(out, W) (the same as backward of sum(out * W), without depending on the
// mul/sum ops under test). The analytic gradient is computed twice: once with W contiguous and
// once with W as a transposed (non-contiguous) view, because in a real graph an op's incoming
// gradient is often a view produced by a transpose or slice backward.
//
// The numeric side perturbs one element at a time by ±eps in f32, re-runs the forward under
// NoGradGuard and accumulates L in double. Tensors with more than max_elements elements are
// checked on a random subset of that many elements.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "sieve/autograd/engine.h"
#include "sieve/autograd/grad_mode.h"
#include "sieve/core/tensor.h"

namespace sieve::testing {

using core::Tensor;

struct GradcheckOptions {
  float eps = 1e-2f;
  double rtol = 1e-2;
  double atol = 1e-3;
  std::int64_t max_elements = 64;
  std::uint32_t seed = 1234;
  bool also_strided_grad_output = true;
};

using ForwardFn = std::function<Tensor(const std::vector<Tensor>&)>;

inline std::vector<float> uniform_values(std::int64_t count, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& v : values) v = dist(rng);
  return values;
}

// A contiguous f32 tensor of uniform values in [lo, hi).
inline Tensor uniform_tensor(core::Shape shape, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  const std::int64_t n = core::shape_numel(shape);
  return Tensor::from_vector(uniform_values(n, seed, lo, hi), std::move(shape));
}

namespace detail {

// sum(out * w) in double; out may be strided, w is contiguous with out's shape.
inline double weighted_sum(const Tensor& out, const std::vector<float>& w) {
  const std::vector<float> values = out.to_vector();
  double total = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) total += static_cast<double>(values[i]) * w[i];
  return total;
}

// The same values as `w` (shape `shape`), stored transposed so the view is non-contiguous.
inline Tensor strided_copy(const Tensor& w) {
  if (w.dim() < 2 || w.size(-1) < 2 || w.size(-2) < 2) return Tensor();
  Tensor storage = Tensor::empty(w.transpose(-1, -2).shape());
  Tensor view = storage.transpose(-1, -2);
  view.copy_from(w);
  return view;
}

inline std::vector<std::int64_t> pick_elements(std::int64_t numel, std::int64_t limit, std::uint32_t seed) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(numel));
  std::iota(all.begin(), all.end(), 0);
  if (numel <= limit) return all;
  std::mt19937 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<std::size_t>(limit));
  std::sort(all.begin(), all.end());
  return all;
}

// Runs forward on fresh leaves (clones of `inputs`, same requires_grad flags) and backward
// with grad_output; returns the leaves' gradients (undefined where none arrived).
inline std::vector<Tensor> analytic_grads(const ForwardFn& forward, const std::vector<Tensor>& inputs,
                                          const Tensor& grad_output_values, bool strided) {
  std::vector<Tensor> leaves;
  for (const Tensor& input : inputs) {
    Tensor leaf = input.defined() ? input.clone() : Tensor();
    if (input.defined() && input.requires_grad()) leaf.set_requires_grad(true);
    leaves.push_back(leaf);
  }
  Tensor out = forward(leaves);
  Tensor seed = grad_output_values;
  if (strided) seed = strided_copy(grad_output_values);
  autograd::backward(out, seed);
  std::vector<Tensor> grads;
  for (const Tensor& leaf : leaves) grads.push_back(leaf.defined() ? leaf.grad() : Tensor());
  return grads;
}

}  // namespace detail

// Returns success, or a failure listing the first mismatching elements.
inline ::testing::AssertionResult gradcheck(const ForwardFn& forward, const std::vector<Tensor>& inputs,
                                            const GradcheckOptions& options = {}) {
  // Output shape and the fixed random weights W.
  Tensor probe;
  {
    autograd::NoGradGuard no_grad;
    probe = forward(inputs);
  }
  if (probe.dtype() != core::DType::f32) return ::testing::AssertionFailure() << "gradcheck needs an f32 output";
  const std::vector<float> w = uniform_values(probe.numel(), options.seed + 7, -1.0f, 1.0f);
  const Tensor w_tensor = Tensor::from_vector(w, probe.shape());

  bool any_checked = false;
  std::vector<std::vector<Tensor>> analytic_runs;
  analytic_runs.push_back(detail::analytic_grads(forward, inputs, w_tensor, false));
  if (options.also_strided_grad_output && detail::strided_copy(w_tensor).defined())
    analytic_runs.push_back(detail::analytic_grads(forward, inputs, w_tensor, true));

  std::ostringstream failures;
  int failure_count = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& input = inputs[i];
    if (!input.defined() || !input.requires_grad()) continue;
    if (input.dtype() != core::DType::f32 || !input.is_contiguous())
      return ::testing::AssertionFailure() << "gradcheck input " << i << " must be contiguous f32";
    any_checked = true;
    for (std::size_t run = 0; run < analytic_runs.size(); ++run) {
      const Tensor& g = analytic_runs[run][i];
      if (!g.defined()) return ::testing::AssertionFailure() << "input " << i << " received no gradient";
      if (g.shape() != input.shape())
        return ::testing::AssertionFailure() << "input " << i << " gradient shape " << core::shape_string(g.shape())
                                             << " differs from " << core::shape_string(input.shape());
    }
    std::vector<std::vector<float>> analytic;
    for (const auto& grads : analytic_runs) analytic.push_back(grads[i].to_vector());

    // Perturb a private copy so the caller's tensors are untouched.
    std::vector<Tensor> perturbed = inputs;
    Tensor work = input.clone();
    perturbed[i] = work;
    float* data = work.data<float>();
    const auto elements =
        detail::pick_elements(input.numel(), options.max_elements, options.seed + static_cast<std::uint32_t>(i));
    for (std::int64_t e : elements) {
      const float original = data[e];
      double plus = 0.0, minus = 0.0;
      {
        autograd::NoGradGuard no_grad;
        data[e] = original + options.eps;
        plus = detail::weighted_sum(forward(perturbed), w);
        data[e] = original - options.eps;
        minus = detail::weighted_sum(forward(perturbed), w);
        data[e] = original;
      }
      // The actual step in f32 may differ slightly from 2·eps.
      const double step = static_cast<double>(original + options.eps) - static_cast<double>(original - options.eps);
      const double numeric = (plus - minus) / step;
      for (std::size_t run = 0; run < analytic.size(); ++run) {
        const double a = analytic[run][static_cast<std::size_t>(e)];
        if (std::abs(a - numeric) > options.atol + options.rtol * std::abs(numeric)) {
          if (++failure_count <= 8)
            failures << "\n  input " << i << " element " << e << (run ? " (strided dy)" : "") << ": analytic " << a
                     << " numeric " << numeric;
        }
      }
    }
  }
  if (!any_checked) return ::testing::AssertionFailure() << "no input requires grad";
  if (failure_count > 0)
    return ::testing::AssertionFailure() << failure_count << " gradient mismatches:" << failures.str();
  return ::testing::AssertionSuccess();
}

// Marks a tensor as requiring grad and returns it (for building gradcheck input lists inline).
inline Tensor requires_grad(Tensor t) {
  t.set_requires_grad(true);
  return t;
}

// Max |a − b| over two equally long vectors.
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return a.size() == b.size() ? worst : INFINITY;
}

}  // namespace sieve::testing
