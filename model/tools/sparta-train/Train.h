//===- Train.h - What the commands of sparta-train share ------------------===//
//
// sparta-train is one file per command (TrainCommand.cpp, SampleCommand.cpp,
// AgreeCommand.cpp), each registering itself with SPARTA_COMMAND; main.cpp
// runs them through the tools' common parser (sparta/cli/CommandLine.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/cli/CommandLine.h"
#include "sparta/model/Trainer.h"

namespace sparta::train {
using namespace sparta::cli;
using namespace sparta::model;
} // namespace sparta::train
