//===- Commands.h - Subcommands of the sparta tool ------------------------===//
//
// Each subcommand lives in its own <Name>Command.cpp and registers itself with
// one static SPARTA_COMMAND(...) declaration; main.cpp dispatches on the name
// and prints the usage from the registered descriptions. Adding a subcommand is
// adding a file.
//
// Options are declared per command; every command that reads a pattern takes
// FILE plus the common pattern options (--set NAME=VALUE repeated, --pattern
// NAME): see patternOptions() and loadPatternArgument().
//
// Errors: a command throws UsageError for a bad command line and sparta::Error
// for bad input; main prints them and exits with status 2.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Error.h"
#include "sparta/Pattern.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparta::cli {

/// A bad command line (unknown option, missing argument, bad number...).
class UsageError : public Error {
public:
  explicit UsageError(const std::string &message) : Error(message) {}
};

struct Option {
  enum Kind { Flag, Value, Repeated };
  std::string name;    // without the leading "--"
  Kind kind = Flag;
  std::string metavar; // e.g. "K" for --head K
  std::string help;
  char shortName = 0;  // e.g. 'o' for -o; 0 for none
};

/// A parsed command line: positional arguments and option values.
class Arguments {
public:
  std::vector<std::string> positionals;

  bool has(const std::string &name) const { return values_.count(name) != 0; }
  /// The last value given for `name`, or `fallback`.
  std::string value(const std::string &name, const std::string &fallback = "") const;
  /// Every value given for a repeated option, in order.
  std::vector<std::string> values(const std::string &name) const;
  /// The option's value as an integer in [min, max]; `fallback` when absent.
  /// Throws UsageError when it is not an integer or out of range.
  int64_t integer(const std::string &name, int64_t fallback, int64_t min, int64_t max) const;

  void add(const std::string &name, const std::string &value) { values_[name].push_back(value); }

private:
  std::map<std::string, std::vector<std::string>> values_;
};

struct Command {
  std::string name;
  std::string summary;  // one line, for `sparta --help`
  std::string synopsis; // e.g. "FILE [--set NAME=VALUE]... [--head K]"
  std::vector<Option> options;
  int (*run)(const Arguments &args) = nullptr; // returns the exit status
};

/// Every registered command, sorted by name.
std::vector<const Command *> commands();
const Command *findCommand(const std::string &name);

struct CommandRegistration {
  explicit CommandRegistration(Command command);
};
#define SPARTA_COMMAND_CONCAT2(a, b) a##b
#define SPARTA_COMMAND_CONCAT(a, b) SPARTA_COMMAND_CONCAT2(a, b)
/// SPARTA_COMMAND({"name", "summary", "synopsis", options, run});
#define SPARTA_COMMAND(...)                                                    \
  static const ::sparta::cli::CommandRegistration SPARTA_COMMAND_CONCAT(       \
      spartaCommand, __LINE__)(::sparta::cli::Command __VA_ARGS__)

/// Parses argv (after the command name) against the command's options, the
/// common --help included. Throws UsageError.
Arguments parseArguments(const Command &command, const std::vector<std::string> &argv);

/// The usage text of one command.
std::string commandUsage(const Command &command);

/// --set NAME=VALUE (repeated) and --pattern NAME, for commands reading a pattern.
std::vector<Option> patternOptions();

/// `options` followed by the pattern options.
std::vector<Option> withPatternOptions(std::vector<Option> options);

/// Loads the pattern named by the single positional FILE, with the --set
/// bindings and --pattern name. Throws UsageError when FILE is missing or
/// repeated, sparta::Error for a bad file, binding or parameter value.
ConcretePattern loadPatternArgument(const Arguments &args);

} // namespace sparta::cli
