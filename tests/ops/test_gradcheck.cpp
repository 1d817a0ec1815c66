// The gradient checker itself: it must pass a correct hand-written backward and catch wrong ones.
#include "gradcheck.h"

#include <gtest/gtest.h>

#include "sieve/autograd/node.h"

namespace sieve::testing {
namespace {

// y = x², recorded with a backward that returns factor · 2x · dy, optionally with one element's
// gradient swapped for its neighbour's (a wrong index, not just a wrong scale).
Tensor square_with_backward(const Tensor& x, float factor, bool swap_first_two) {
  Tensor y = Tensor::empty(x.shape());
  const Tensor xc = x.contiguous();
  for (std::int64_t i = 0; i < x.numel(); ++i) y.data<float>()[i] = xc.data<float>()[i] * xc.data<float>()[i];
  if (autograd::needs_grad({&x})) {
    const Tensor saved = xc.detach();
    autograd::record(y, "test_square", {&x}, [=](const Tensor& dy) -> std::vector<Tensor> {
      const Tensor g = dy.contiguous();
      Tensor dx = Tensor::empty(saved.shape());
      for (std::int64_t i = 0; i < saved.numel(); ++i)
        dx.data<float>()[i] = factor * 2.0f * saved.data<float>()[i] * g.data<float>()[i];
      if (swap_first_two) std::swap(dx.data<float>()[0], dx.data<float>()[1]);
      return {dx};
    });
  }
  return y;
}

TEST(Gradcheck, AcceptsCorrectGradient) {
  const Tensor x = requires_grad(uniform_tensor({3, 4}, 1));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return square_with_backward(in[0], 1.0f, false); }, {x}));
}

TEST(Gradcheck, CatchesScaledGradient) {
  const Tensor x = requires_grad(uniform_tensor({3, 4}, 2));
  EXPECT_FALSE(gradcheck([](const std::vector<Tensor>& in) { return square_with_backward(in[0], 1.05f, false); }, {x}));
}

TEST(Gradcheck, CatchesMisplacedGradient) {
  const Tensor x = requires_grad(uniform_tensor({3, 4}, 3));
  EXPECT_FALSE(gradcheck([](const std::vector<Tensor>& in) { return square_with_backward(in[0], 1.0f, true); }, {x}));
}

TEST(Gradcheck, CatchesWrongGradientOnSubsetOfLargeTensor) {
  // 40×40 = 1600 elements > max_elements: only a subset is probed, and a 5% error is still caught.
  const Tensor x = requires_grad(uniform_tensor({40, 40}, 4));
  EXPECT_FALSE(gradcheck([](const std::vector<Tensor>& in) { return square_with_backward(in[0], 0.95f, false); }, {x}));
}

TEST(Gradcheck, LeavesCallerInputsUntouched) {
  const Tensor x = requires_grad(uniform_tensor({2, 3}, 5));
  const std::vector<float> before = x.to_vector();
  ASSERT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return square_with_backward(in[0], 1.0f, false); }, {x}));
  EXPECT_EQ(x.to_vector(), before);
  EXPECT_FALSE(x.grad().defined());
}

}  // namespace
}  // namespace sieve::testing
