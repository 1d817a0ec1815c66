#include "python/interrupt.h"

namespace sieve::python {
namespace {

// One flag for the process: a signal handler can reach only static state. Scopes do not nest
// (the GIL is held when one begins, and training holds the model for its whole length).
std::atomic<bool> g_interrupted{false};

extern "C" void on_python_interrupt(int) { g_interrupted.store(true); }

}  // namespace

InterruptScope::InterruptScope() {
  g_interrupted.store(false);
  struct sigaction action {};
  action.sa_handler = on_python_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous_);
}

InterruptScope::~InterruptScope() { sigaction(SIGINT, &previous_, nullptr); }

const std::atomic<bool>* InterruptScope::flag() const { return &g_interrupted; }

bool InterruptScope::interrupted() const { return g_interrupted.load(); }

}  // namespace sieve::python
