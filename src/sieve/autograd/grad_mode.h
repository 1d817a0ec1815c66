// Whether operations record the autograd graph. Thread-local: an inference thread can run
// under NoGradGuard while a training thread records.
#pragma once

namespace sieve::autograd {

bool grad_enabled();

// Within its scope no op records a graph node, so inference allocates no graph and keeps no
// activations alive.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Turns recording back on inside a NoGradGuard (used by activation recomputation).
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace sieve::autograd
