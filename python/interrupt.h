// Ctrl-C during a long engine call (training): while an InterruptScope lives, SIGINT sets its
// flag — which the trainer polls between steps, stopping with a checkpoint as `sieve train` does
// — instead of going to Python's handler, which could only run once the call returned. The
// previous handler is restored on exit; the caller then raises KeyboardInterrupt if interrupted().
#pragma once

#include <atomic>
#include <csignal>

namespace sieve::python {

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  const std::atomic<bool>* flag() const;
  bool interrupted() const;

 private:
  struct sigaction previous_ {};
};

}  // namespace sieve::python
