//===- main.cpp - The sparta command-line tool ----------------------------===//
//
//   sparta COMMAND [OPTIONS]
//
// Each subcommand lives in its own <Name>Command.cpp and registers itself with
// one SPARTA_COMMAND(...) declaration (sparta/cli/CommandLine.h); adding a
// subcommand is adding a file. The commands that read a pattern take FILE and
// the common pattern options (sparta/cli/PatternArguments.h). Parsing, help,
// messages and exit statuses are the shared ones of every tool (docs/tools.md);
// a command's own status (check: 1 for an invalid pattern) is passed through.
//
//===----------------------------------------------------------------------===//
#include "sparta/cli/CommandLine.h"

int main(int argc, char **argv) {
  using namespace sparta::cli;
  const Tool tool{"sparta",
                  "sparta compiles the sparse attention patterns of the Sparse Transformer "
                  "(patterns/*.mlir) into specialised kernels, and analyses them.",
                  registeredCommands(), ""};
  return runTool(tool, argc, argv);
}
