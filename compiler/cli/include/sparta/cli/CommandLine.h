//===- CommandLine.h - The command-line parser every sparta tool uses -----===//
//
// A tool is a list of commands (or one nameless command), a command a table
// of options. Everything else comes from the tables, the same way in every
// tool: parsing (each value read as its option's type and checked against its
// range as it is read, unknown options refused), the help text (each option
// with its value's range and default), `--help` and `--version`, and the
// messages and exit statuses of errors (docs/tools.md):
//
//   0   success
//   1   the work failed: a negative answer (`sparta check`: the pattern is not
//       valid), or a failure while working (a training run stopped on a
//       non-finite loss, an error once the GPU work has begun)
//   2   a user error: a bad command line or a bad input (pattern, data,
//       checkpoint), found before any work starts
//   77  the tool needs a CUDA device and there is none (CTest's "skipped")
//
// A command throws UsageError for a bad command line and sparta::Error (or
// any std::exception) for a bad input; runTool prints it as
// "TOOL[ COMMAND]: error: MESSAGE" and exits 2, or 1 once requireDevice()
// has marked the start of the work.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Error.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace sparta::cli {

enum ExitStatus : int {
  kExitSuccess = 0,
  kExitWorkFailed = 1,
  kExitUsage = 2,
  kExitInterrupted = 4, // stopped by SIGINT/SIGTERM after saving its state
  kExitNoDevice = 77,
};

/// A bad command line (unknown option, missing or malformed value...).
class UsageError : public Error {
public:
  explicit UsageError(const std::string &message) : Error(message) {}
};

/// The tool needs a CUDA device and none is usable; the message says why.
class NoDeviceError : public Error {
public:
  explicit NoDeviceError(const std::string &message) : Error(message) {}
};

/// An interval of allowed values; an open end excludes its bound.
template <typename T> struct Range {
  T min = std::numeric_limits<T>::lowest();
  T max = std::numeric_limits<T>::max();
  bool minOpen = false, maxOpen = false;

  bool contains(T v) const {
    return (minOpen ? v > min : v >= min) && (maxOpen ? v < max : v <= max);
  }
  bool unbounded() const {
    return min == std::numeric_limits<T>::lowest() && max == std::numeric_limits<T>::max();
  }
  /// "[1, 256]", "(0, 1]", "at least 0".
  std::string text() const;
};
using IntRange = Range<int64_t>;
using RealRange = Range<double>;

struct Option {
  enum class Kind { Flag, Integer, Real, Text, Choice };
  std::string name;    // without the leading "--"
  Kind kind = Kind::Flag;
  std::string metavar; // e.g. "N" for --layers N
  std::string help;    // what it does; the range and default are appended
  std::optional<std::string> defaultValue; // read as the option's kind when absent
  std::string defaultNote; // the default in words, when the command derives it
  bool repeated = false;                   // every value is kept, in order
  char shortName = 0;                      // e.g. 'o' for -o; 0 for none
  IntRange integers;                       // Kind::Integer
  RealRange reals;                         // Kind::Real (always finite)
  std::vector<std::string> choices;        // Kind::Choice

  static Option flag(std::string name, std::string help);
  static Option integer(std::string name, std::string metavar, IntRange range, std::string help);
  static Option real(std::string name, std::string metavar, RealRange range, std::string help);
  static Option text(std::string name, std::string metavar, std::string help);
  static Option choice(std::string name, std::string metavar, std::vector<std::string> choices,
                       std::string help);
  /// A copy with a default value (text, as it would be written on the command line).
  Option byDefault(std::string value) const;
  /// A copy whose help names a default the command derives itself (from other
  /// options), e.g. "4096, 784 for fashion-mnist".
  Option derivedDefault(std::string note) const;
  Option repeatable() const;
  Option withShortName(char c) const;
};

/// A parsed command line: positional arguments and option values, every value
/// already checked against its option.
class Arguments {
public:
  std::vector<std::string> positionals;

  explicit Arguments(std::vector<Option> options) : options_(std::move(options)) {}

  /// Whether the option was given. A name the table lacks, or (for the
  /// accessors below) an option with neither value nor default, is a
  /// programming error (std::logic_error).
  bool has(const std::string &name) const;
  /// The last value given, else the default.
  std::string text(const std::string &name) const;
  /// Every value of a repeated option, in order.
  std::vector<std::string> values(const std::string &name) const;
  /// An integer option as Int; the option's range must fit Int (checked), so
  /// no value is ever cut.
  template <typename Int = int64_t> Int integer(const std::string &name) const {
    static_assert(std::is_integral_v<Int>);
    requireFits(name, int64_t(std::numeric_limits<Int>::lowest()),
                uint64_t(std::numeric_limits<Int>::max()));
    return Int(integer64(name));
  }
  double real(const std::string &name) const;

  /// Adds a value (parseArguments has checked it).
  void add(const std::string &name, const std::string &value) { values_[name].push_back(value); }
  const Option &option(const std::string &name) const;

private:
  int64_t integer64(const std::string &name) const;
  void requireFits(const std::string &name, int64_t lowest, uint64_t highest) const;

  std::vector<Option> options_;
  std::map<std::string, std::vector<std::string>> values_;
};

struct Command {
  std::string name;     // empty: the tool's only command (no command word)
  std::string summary;  // one line, for the tool's command list
  std::string synopsis; // after "usage: TOOL[ NAME] ", e.g. "FILE [OPTIONS]"
  std::vector<Option> options;
  std::function<int(const Arguments &)> run; // returns the exit status
  std::string details = {}; // printed after the options in --help (may be empty)
};

struct Tool {
  std::string name;    // "sparta-train"
  std::string summary; // a paragraph for --help
  std::vector<Command> commands;
  /// The command run when the first argument is an option (empty: a command
  /// word is required). Its options are listed by `TOOL --help`.
  std::string defaultCommand;
};

/// Parses, dispatches, prints errors and returns the exit status (see the top
/// of this file). `TOOL --help`, `TOOL COMMAND --help`, `TOOL help COMMAND`
/// print the usage to stdout; `--version` prints "TOOL (sparta) VERSION".
int runTool(const Tool &tool, int argc, char **argv);

/// Parses argv (after the command word) against the command's options and the
/// built-in --help and --version. Throws UsageError.
Arguments parseArguments(const Command &command, const std::vector<std::string> &argv);

/// The usage text of one command of `tool`.
std::string commandUsage(const Tool &tool, const Command &command);

/// `text` wrapped to lines of at most `width` characters, each line after the
/// first indented by `indent` spaces (help paragraphs).
std::string wrap(const std::string &text, size_t indent, size_t width);

/// Commands that register themselves, one file each:
///   SPARTA_COMMAND({"name", "summary", "synopsis", options, run});
/// registeredCommands() returns them for the tool's main().
std::vector<Command> registeredCommands();
struct CommandRegistration {
  explicit CommandRegistration(Command command);
};
#define SPARTA_COMMAND_CONCAT2(a, b) a##b
#define SPARTA_COMMAND_CONCAT(a, b) SPARTA_COMMAND_CONCAT2(a, b)
#define SPARTA_COMMAND(...)                                                    \
  static const ::sparta::cli::CommandRegistration SPARTA_COMMAND_CONCAT(       \
      spartaCommand, __LINE__)(::sparta::cli::Command __VA_ARGS__)

/// Throws NoDeviceError (exit 77) when no CUDA device is usable; otherwise
/// marks the start of the work: errors from here on exit 1, not 2.
void requireDevice();

/// Throws UsageError unless there are exactly `count` positionals; `what`
/// names them ("pattern FILE").
void requirePositionals(const Arguments &args, size_t count, const std::string &what);

} // namespace sparta::cli
