//===- RunTool.cpp - Dispatch, --help, --version, errors and exit statuses -===//
//
// See CommandLine.h: the one place that turns a command's result or failure
// into a message and an exit status.
//
//===----------------------------------------------------------------------===//
#include "sparta/cli/CommandLine.h"

#include "sparta/Compiler.h"
#include "sparta/runtime/Cuda.h"

#include <algorithm>
#include <iostream>
#include <new>
#include <sstream>

namespace sparta::cli {

static std::string commandWords(const Tool &tool, const Command &command) {
  return command.name.empty() ? tool.name : tool.name + " " + command.name;
}

static void printVersion(const Tool &tool) {
  std::cout << tool.name << " (sparta) " << spartaVersion() << "\n";
}

static std::string toolUsage(const Tool &tool) {
  std::ostringstream out;
  out << "usage: " << tool.name << " COMMAND [OPTIONS]";
  if (!tool.defaultCommand.empty())
    out << "\n       " << tool.name << " [OPTIONS]   (the command '" << tool.defaultCommand
        << "')";
  out << "\n\n" << wrap(tool.summary, 0, 92) << "\n\ncommands:\n";
  std::vector<const Command *> sorted;
  for (const Command &c : tool.commands)
    sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(),
            [](const Command *a, const Command *b) { return a->name < b->name; });
  for (const Command *c : sorted) {
    out << "  " << c->name;
    out << (c->name.size() < 10 ? std::string(10 - c->name.size(), ' ') : "  ");
    out << c->summary << "\n";
  }
  out << "\nRun '" << tool.name << " COMMAND --help' for a command's options.\n";
  return out.str();
}

/// Set by requireDevice(): from then on a failure is one of the work (exit 1).
static bool workStarted = false;

void requireDevice() {
  std::string why;
  if (!rt::cudaAvailable(&why))
    throw NoDeviceError("no CUDA device: " + why);
  workStarted = true;
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

static const Command *findCommand(const Tool &tool, const std::string &name) {
  for (const Command &c : tool.commands)
    if (c.name == name)
      return &c;
  return nullptr;
}

static int dispatch(const Tool &tool, const std::vector<std::string> &all) {
  const bool single = tool.commands.size() == 1 && tool.commands[0].name.empty();
  const Command *command = nullptr;
  std::vector<std::string> rest = all;
  if (single) {
    command = &tool.commands[0];
  } else {
    if (all.empty()) {
      if (tool.defaultCommand.empty()) {
        std::cerr << toolUsage(tool);
        return kExitUsage;
      }
    }
    const std::string first = all.empty() ? "" : all[0];
    if (first == "--help" || first == "-h" || first == "help") {
      if (first == "help" && all.size() > 1) {
        if (const Command *c = findCommand(tool, all[1])) {
          std::cout << commandUsage(tool, *c);
          return kExitSuccess;
        }
        printError(tool.name, "unknown command '" + all[1] + "'");
        return kExitUsage;
      }
      std::cout << toolUsage(tool);
      if (const Command *c = findCommand(tool, tool.defaultCommand))
        std::cout << "\n" << commandUsage(tool, *c);
      return kExitSuccess;
    }
    if (first == "--version") {
      printVersion(tool);
      return kExitSuccess;
    }
    command = findCommand(tool, first);
    if (command) {
      rest.erase(rest.begin());
    } else if (!tool.defaultCommand.empty() && (first.empty() || first[0] == '-')) {
      command = findCommand(tool, tool.defaultCommand);
    } else {
      printError(tool.name, (first[0] == '-' ? "expected a command before option '"
                                             : "unknown command '") +
                                first + "'\nRun '" + tool.name +
                                " --help' for the list of commands.");
      return kExitUsage;
    }
  }

  const std::string who = commandWords(tool, *command);
  Arguments args = parseArguments(*command, rest);
  if (args.has("help")) {
    std::cout << commandUsage(tool, *command);
    return kExitSuccess;
  }
  if (args.has("version")) {
    printVersion(tool);
    return kExitSuccess;
  }
  int status = command->run(args);
  std::cout.flush();
  if (!std::cout) {
    printError(who, "cannot write to standard output");
    return workStarted ? kExitWorkFailed : kExitUsage;
  }
  return status;
}

int runTool(const Tool &tool, int argc, char **argv) {
  std::vector<std::string> all(argv + 1, argv + argc);
  // The words that name the command, for messages: found again here so that
  // an exception from dispatch() can name it.
  std::string who = tool.name;
  if (!all.empty())
    if (const Command *c = findCommand(tool, all[0]); c && !c->name.empty())
      who += " " + c->name;
  const bool single = tool.commands.size() == 1 && tool.commands[0].name.empty();
  try {
    return dispatch(tool, all);
  } catch (const UsageError &e) {
    printError(who, std::string(e.what()) + "\nRun '" + (single ? tool.name : who) +
                        " --help' for usage.");
    return kExitUsage;
  } catch (const NoDeviceError &e) {
    printError(who, e.what());
    return kExitNoDevice;
  } catch (const std::bad_alloc &) {
    printError(who, "out of memory");
  } catch (const std::exception &e) {
    printError(who, e.what());
  } catch (...) {
    printError(who, "unexpected failure");
  }
  return workStarted ? kExitWorkFailed : kExitUsage;
}

} // namespace sparta::cli
