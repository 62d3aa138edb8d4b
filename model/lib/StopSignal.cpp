//===- StopSignal.cpp - SIGINT/SIGTERM as a request to stop after the step -===//
//
// The handler only stores the signal number in a lock-free atomic, the one
// thing a signal handler may safely do; everything else happens in the
// training loop when it polls stopSignal().
//
//===----------------------------------------------------------------------===//
#include "sparta/model/StopSignal.h"

#include "sparta/Error.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

namespace sparta::model {

namespace {

std::atomic<int> received{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void recordStopSignal(int signal) { received.store(signal); }

void install(int signal, struct sigaction *previous) {
  struct sigaction action {};
  action.sa_handler = recordStopSignal;
  sigemptyset(&action.sa_mask);
  // The second signal is not caught: it terminates the process as usual.
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  if (::sigaction(signal, &action, previous) != 0)
    throw Error(std::string("cannot install the stop-signal handler: ") + std::strerror(errno));
}

} // namespace

StopSignalScope::StopSignalScope() {
  received.store(0);
  install(SIGINT, &previousInt_);
  install(SIGTERM, &previousTerm_);
}

StopSignalScope::~StopSignalScope() {
  ::sigaction(SIGINT, &previousInt_, nullptr);
  ::sigaction(SIGTERM, &previousTerm_, nullptr);
}

int stopSignal() { return received.load(); }

std::string stopSignalName(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

} // namespace sparta::model
