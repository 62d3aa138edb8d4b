//===- StopSignal.h - SIGINT/SIGTERM as a request to stop after the step ---===//
//
// While a StopSignalScope lives, the first SIGINT or SIGTERM does not kill the
// process: it is recorded, and the trainer, which polls stopSignal() after
// every step, writes a checkpoint of that step and returns. The handler is
// installed with SA_RESETHAND, so a second signal gets the default action and
// kills the process at once (the checkpoint files are written atomically, so
// even that leaves the previous checkpoint intact).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <csignal>
#include <string>

namespace sparta::model {

class StopSignalScope {
public:
  /// Clears any recorded signal and installs the handler for SIGINT and SIGTERM.
  StopSignalScope();
  /// Restores the handlers that were installed before.
  ~StopSignalScope();
  StopSignalScope(const StopSignalScope &) = delete;
  StopSignalScope &operator=(const StopSignalScope &) = delete;

private:
  struct sigaction previousInt_, previousTerm_;
};

/// The signal recorded since the innermost scope began (SIGINT or SIGTERM), or 0.
int stopSignal();
/// "SIGINT", "SIGTERM", or "signal N".
std::string stopSignalName(int signal);

} // namespace sparta::model
