#include "sieve/autograd/grad_mode.h"

namespace sieve::autograd {
namespace {
thread_local bool enabled = true;
}

bool grad_enabled() { return enabled; }

NoGradGuard::NoGradGuard() : previous_(enabled) { enabled = false; }
NoGradGuard::~NoGradGuard() { enabled = previous_; }

EnableGradGuard::EnableGradGuard() : previous_(enabled) { enabled = true; }
EnableGradGuard::~EnableGradGuard() { enabled = previous_; }

}  // namespace sieve::autograd
