//===- Progress.h - The trainer's live progress line ----------------------===//
//
//   step 1200/5000  loss 1.4213  2.051 bits/byte  812.3k tok/s  ETA 4m05s
//
// On a terminal the line rewrites itself in place ("\r", at most 10 times a
// second); when stderr is a file or a pipe (CI logs, nohup) it prints plain
// lines, one at most every `plainIntervalSec`, plus the last step, so logs
// stay short but complete.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sparta::model {

/// "12s", "4m05s", "2h03m", "3d04h"; "?" for a negative or non-finite value.
std::string formatDuration(double seconds);
/// "950", "812.3k", "1.25M".
std::string formatRate(double perSecond);
/// The line itself, without "\r" or "\n". `etaSec` < 0 leaves ETA out.
std::string formatProgress(int64_t step, int64_t totalSteps, double loss, double bits,
                           const std::string &unit, double tokensPerSec, double etaSec);

class ProgressLine {
public:
  /// `unit` names the bits figure ("bits/byte", "bits/dim"). `tty`: -1 asks
  /// isatty() of `out`, 0 and 1 force the mode (tests).
  ProgressLine(int64_t totalSteps, std::string unit, std::FILE *out = stderr, int tty = -1,
               double plainIntervalSec = 30);
  ~ProgressLine();

  /// `step` steps are done (1-based). The ETA extrapolates the rate measured
  /// since the first update, so a resumed run's ETA counts only its own steps.
  void update(int64_t step, double loss, double bits, double tokensPerSec);
  /// Prints a whole line (an evaluation result, a checkpoint note) without
  /// garbling the live line, which is redrawn on the next update.
  void message(const std::string &line);
  /// Ends the live line with a newline (also done by the destructor).
  void finish();
  bool isTty() const { return tty; }

private:
  using Clock = std::chrono::steady_clock;
  int64_t total;
  std::string unit;
  std::FILE *out;
  bool tty;
  double plainInterval;
  bool started = false, lineOpen = false;
  int64_t firstStep = 0;
  Clock::time_point firstTime, lastPrint;
};

} // namespace sparta::model
