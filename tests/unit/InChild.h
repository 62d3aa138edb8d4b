//===- InChild.h - Run a test body in a child process with limits ----------===//
//
// For inputs whose failure mode is to hang or to eat all memory (a FIFO, a
// link to /dev/zero): the body runs in a forked child with an alarm and a cap
// on its address space, so a regression fails the test instead of stalling
// the suite or exhausting the machine. Shared by KernelCacheTest.cpp and
// FileFormatTest.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <optional>

namespace sparta::testing {

/// Runs `body` in a child process limited to `seconds` and `memoryBytes` of
/// address space: its result, or nothing when the child was killed, crashed,
/// threw or ran out of time.
inline std::optional<bool> inChild(const std::function<bool()> &body, int seconds = 20,
                                   rlim_t memoryBytes = rlim_t(1) << 31) {
  pid_t pid = ::fork();
  if (pid == 0) {
    struct rlimit limit = {memoryBytes, memoryBytes};
    ::setrlimit(RLIMIT_AS, &limit);
    ::alarm(unsigned(seconds));
    bool result = false;
    try {
      result = body();
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(result ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
    return std::nullopt;
  return WEXITSTATUS(status) == 0;
}

} // namespace sparta::testing
