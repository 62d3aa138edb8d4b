//===- Registry.cpp - Commands that register themselves (SPARTA_COMMAND) --===//
#include "sparta/cli/CommandLine.h"

namespace sparta::cli {

static std::vector<Command> &registry() {
  static std::vector<Command> commands;
  return commands;
}

CommandRegistration::CommandRegistration(Command command) {
  registry().push_back(std::move(command));
}

std::vector<Command> registeredCommands() { return registry(); }

} // namespace sparta::cli
