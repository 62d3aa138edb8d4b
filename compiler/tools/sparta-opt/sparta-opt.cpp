//===- sparta-opt.cpp - mlir-opt for the sparta dialect --------------------===//
//
// Parses, verifies, transforms and prints pattern files; used by the lit
// tests. All the work is in libsparta (sparta::optMain).
//
//===----------------------------------------------------------------------===//
#include "sparta/Frontend.h"

int main(int argc, char **argv) { return sparta::optMain(argc, argv); }
