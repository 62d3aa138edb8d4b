//===- Progress.cpp - The trainer's live progress line --------------------===//
#include "sparta/model/Progress.h"

#include <fmt/format.h>

#include <unistd.h>

#include <cmath>

namespace sparta::model {

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  int64_t s = int64_t(std::llround(seconds));
  if (s < 60)
    return fmt::format("{}s", s);
  if (s < 3600)
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400)
    return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::string formatRate(double v) {
  if (!std::isfinite(v) || v < 0)
    return "?";
  if (v < 1e3)
    return fmt::format("{:.0f}", v);
  if (v < 1e6)
    return fmt::format("{:.1f}k", v / 1e3);
  if (v < 1e9)
    return fmt::format("{:.2f}M", v / 1e6);
  return fmt::format("{:.2f}G", v / 1e9);
}

std::string formatProgress(int64_t step, int64_t totalSteps, double loss, double bits,
                           const std::string &unit, double tokensPerSec, double etaSec) {
  std::string line = fmt::format("step {}/{}  loss {:.4f}  {:.3f} {}  {} tok/s", step, totalSteps,
                                 loss, bits, unit, formatRate(tokensPerSec));
  if (etaSec >= 0)
    line += "  ETA " + formatDuration(etaSec);
  return line;
}

ProgressLine::ProgressLine(int64_t totalSteps, std::string unit, std::FILE *out, int ttyMode,
                           double plainIntervalSec)
    : total(totalSteps), unit(std::move(unit)), out(out),
      tty(ttyMode < 0 ? ::isatty(::fileno(out)) != 0 : ttyMode != 0),
      plainInterval(plainIntervalSec) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(int64_t step, double loss, double bits, double tokensPerSec) {
  Clock::time_point now = Clock::now();
  if (!started) {
    // The first update is the reference point: its step's cost is unknown.
    started = true;
    firstStep = step;
    firstTime = now;
  }
  double elapsed = std::chrono::duration<double>(now - firstTime).count();
  double eta = step > firstStep ? elapsed / double(step - firstStep) * double(total - step) : -1;
  bool last = step >= total;
  double sincePrint = std::chrono::duration<double>(now - lastPrint).count();
  std::string line = formatProgress(step, total, loss, bits, unit, tokensPerSec, eta);
  if (tty) {
    if (!last && lineOpen && sincePrint < 0.1)
      return;
    // "\033[K" clears what a longer previous line left to the right.
    fmt::print(out, "\r{}\033[K", line);
    lineOpen = true;
  } else {
    if (!last && step != firstStep && sincePrint < plainInterval)
      return;
    fmt::print(out, "{}\n", line);
  }
  std::fflush(out);
  lastPrint = now;
}

void ProgressLine::message(const std::string &line) {
  if (tty && lineOpen) {
    fmt::print(out, "\r\033[K");
    lineOpen = false;
    // Force a redraw of the live line at the next update.
    lastPrint = Clock::time_point();
  }
  fmt::print(out, "{}\n", line);
  std::fflush(out);
}

void ProgressLine::finish() {
  if (tty && lineOpen) {
    fmt::print(out, "\n");
    std::fflush(out);
  }
  lineOpen = false;
}

} // namespace sparta::model
