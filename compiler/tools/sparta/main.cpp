//===- main.cpp - The sparta command-line tool ----------------------------===//
//
//   sparta COMMAND [OPTIONS]
//
// Dispatches to the subcommands registered in *Command.cpp (see Commands.h),
// parses their options and turns every failure into a message on stderr and
// exit status 2. A command's own status (check: 1 for an invalid pattern) is
// passed through.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "sparta/Frontend.h"
#include "sparta/PatternFiles.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <new>
#include <sstream>

namespace sparta::cli {

//===----------------------------------------------------------------------===//
// Registry
//===----------------------------------------------------------------------===//

static std::vector<Command> &registry() {
  static std::vector<Command> commands;
  return commands;
}

CommandRegistration::CommandRegistration(Command command) {
  registry().push_back(std::move(command));
}

std::vector<const Command *> commands() {
  std::vector<const Command *> all;
  for (const Command &command : registry())
    all.push_back(&command);
  std::sort(all.begin(), all.end(),
            [](const Command *a, const Command *b) { return a->name < b->name; });
  return all;
}

const Command *findCommand(const std::string &name) {
  for (const Command &command : registry())
    if (command.name == name)
      return &command;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

std::string Arguments::value(const std::string &name, const std::string &fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Arguments::values(const std::string &name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Arguments::integer(const std::string &name, int64_t fallback, int64_t min,
                           int64_t max) const {
  if (!has(name))
    return fallback;
  const std::string text = value(name);
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || text.find_first_of(" \t") == 0)
    throw UsageError("--" + name + " needs an integer, not '" + text + "'");
  if (v < min || v > max) {
    if (max == INT64_MAX)
      throw UsageError("--" + name + " " + text + " is out of range: it must be at least " +
                       std::to_string(min));
    throw UsageError("--" + name + " " + text + " is out of range [" + std::to_string(min) +
                     ", " + std::to_string(max) + "]");
  }
  return v;
}

static const Option helpOption{"help", Option::Flag, "", "print this help and exit"};

Arguments parseArguments(const Command &command, const std::vector<std::string> &argv) {
  Arguments args;
  bool optionsEnded = false;
  for (size_t k = 0; k < argv.size(); ++k) {
    const std::string &arg = argv[k];
    if (optionsEnded || arg.size() < 2 || arg[0] != '-') {
      args.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      optionsEnded = true;
      continue;
    }
    if (arg == "-h") {
      args.add("help", "");
      continue;
    }
    std::string name, inlineValue;
    if (arg.size() == 2 && arg[0] == '-') {
      for (const Option &candidate : command.options)
        if (candidate.shortName == arg[1])
          name = candidate.name;
      if (name.empty())
        throw UsageError("unknown option '" + arg + "'");
    } else if (arg.rfind("--", 0) != 0) {
      throw UsageError("unknown option '" + arg + "'");
    } else {
      name = arg.substr(2);
    }
    bool hasInlineValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inlineValue = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasInlineValue = true;
    }
    const Option *option = name == "help" ? &helpOption : nullptr;
    for (const Option &candidate : command.options)
      if (candidate.name == name)
        option = &candidate;
    if (!option)
      throw UsageError("unknown option '--" + name + "'");
    if (option->kind == Option::Flag) {
      if (hasInlineValue)
        throw UsageError("option '--" + name + "' takes no value");
      args.add(name, "");
      continue;
    }
    if (!hasInlineValue) {
      if (k + 1 >= argv.size())
        throw UsageError("option '--" + name + "' needs a value (" + option->metavar + ")");
      inlineValue = argv[++k];
    }
    args.add(name, inlineValue);
  }
  return args;
}

std::string commandUsage(const Command &command) {
  std::ostringstream out;
  out << "usage: sparta " << command.name << " " << command.synopsis << "\n\n"
      << command.summary << "\n\noptions:\n";
  std::vector<Option> options = command.options;
  options.push_back(helpOption);
  for (const Option &option : options) {
    std::string left = (option.shortName ? std::string("-") + option.shortName + ", " : "") + "--" +
                       option.name + (option.metavar.empty() ? "" : " " + option.metavar);
    out << "  " << left;
    if (left.size() < 22)
      out << std::string(22 - left.size(), ' ');
    else
      out << "\n" << std::string(24, ' ');
    out << option.help << "\n";
  }
  return out.str();
}

std::vector<Option> patternOptions() {
  return {
      {"set", Option::Repeated, "NAME=VALUE",
       "bind a pattern parameter (repeatable), e.g. --set T=1024 --set L=32"},
      {"pattern", Option::Value, "NAME",
       "the pattern to use when FILE holds several (default: the only one)"},
  };
}

std::vector<Option> withPatternOptions(std::vector<Option> options) {
  std::vector<Option> common = patternOptions();
  options.insert(options.end(), common.begin(), common.end());
  return options;
}

ConcretePattern loadPatternArgument(const Arguments &args) {
  if (args.positionals.empty())
    throw UsageError("missing pattern FILE");
  if (args.positionals.size() > 1)
    throw UsageError("unexpected argument '" + args.positionals[1] +
                     "' (only one pattern FILE is read)");
  ParamBindings bindings = parseBindings(args.values("set"));
  ConcretePattern pattern =
      loadPattern(findPatternFile(args.positionals[0]), bindings, args.value("pattern", ""));
  // The front end verifies these; the analyses rely on them, so check again.
  if (pattern.T <= 0)
    throw Error(args.positionals[0] + ": error: T must be positive, not " +
                std::to_string(pattern.T));
  if (pattern.heads.empty())
    throw Error(args.positionals[0] + ": error: pattern '" + pattern.name + "' has no heads");
  return pattern;
}

//===----------------------------------------------------------------------===//
// main
//===----------------------------------------------------------------------===//

static std::string toolUsage() {
  std::ostringstream out;
  out << "usage: sparta COMMAND [OPTIONS]\n\n"
         "sparta compiles the sparse attention patterns of the Sparse Transformer\n"
         "(patterns/*.mlir) into specialised kernels, and analyses them.\n\ncommands:\n";
  for (const Command *command : commands()) {
    out << "  " << command->name;
    if (command->name.size() < 10)
      out << std::string(10 - command->name.size(), ' ');
    else
      out << "  ";
    out << command->summary << "\n";
  }
  out << "\nRun 'sparta COMMAND --help' for a command's options.\n";
  return out.str();
}

/// Prints a message that is complete and user-facing; adds the "error: " prefix
/// only when the message has none of its own.
static void printError(const std::string &who, const std::string &message) {
  std::string text = message;
  if (text.rfind("error: ", 0) == 0)
    text = who + ": " + text; // "error: cannot open ..." names no place: name the tool
  else if (text.find("error: ") == std::string::npos)
    text = who + ": error: " + text;
  if (text.empty() || text.back() != '\n')
    text += '\n';
  std::cerr << text;
}

static int run(int argc, char **argv) {
  std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty()) {
    std::cerr << toolUsage();
    return 2;
  }
  const std::string &first = all[0];
  if (first == "--help" || first == "-h" || first == "help") {
    if (first == "help" && all.size() > 1) {
      if (const Command *command = findCommand(all[1])) {
        std::cout << commandUsage(*command);
        return 0;
      }
      printError("sparta", "unknown command '" + all[1] + "'");
      return 2;
    }
    std::cout << toolUsage();
    return 0;
  }
  const Command *command = findCommand(first);
  if (!command) {
    printError("sparta", (first[0] == '-' ? "expected a command before option '"
                                          : "unknown command '") +
                             first + "'\nRun 'sparta --help' for the list of commands.");
    return 2;
  }
  const std::string who = "sparta " + command->name;
  try {
    Arguments args = parseArguments(*command, {all.begin() + 1, all.end()});
    if (args.has("help")) {
      std::cout << commandUsage(*command);
      return 0;
    }
    int status = command->run(args);
    std::cout.flush();
    if (!std::cout) {
      printError(who, "cannot write to standard output");
      return 2;
    }
    return status;
  } catch (const UsageError &e) {
    printError(who, std::string(e.what()) + "\nRun '" + who + " --help' for usage.");
  } catch (const Error &e) {
    printError(who, e.what());
  } catch (const std::bad_alloc &) {
    printError(who, "out of memory");
  } catch (const std::exception &e) {
    printError(who, e.what());
  }
  return 2;
}

} // namespace sparta::cli

int main(int argc, char **argv) {
  try {
    return sparta::cli::run(argc, argv);
  } catch (...) {
    std::cerr << "sparta: error: unexpected failure\n";
    return 2;
  }
}
