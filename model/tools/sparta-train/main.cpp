//===- main.cpp - sparta-train: train and sample the Sparse Transformer ---===//
//
//   sparta-train [train] --data gcide|fashion-mnist|FILE --out DIR [OPTIONS]
//   sparta-train sample --checkpoint DIR|FILE [OPTIONS]
//   sparta-train agree --dir DIR [--steps N]
//
// `sparta-train --help` lists every option with its range and default. Exit
// status (docs/tools.md): 0 done (or a resumed run that had already finished),
// 1 the run failed (a non-finite loss, gradient or weight stopped it; a GPU
// error), 2 a bad option or input (found before the GPU is touched), 4 stopped
// by SIGINT/SIGTERM after writing a checkpoint (continue with --resume), 77 no
// CUDA device.
//
//===----------------------------------------------------------------------===//
#include "sparta/cli/CommandLine.h"

int main(int argc, char **argv) {
  using namespace sparta::cli;
  const Tool tool{"sparta-train",
                  "sparta-train trains a byte-level Sparse Transformer on GCIDE text, "
                  "Fashion-MNIST images or any file, with the attention kernels compiled from a "
                  "pattern file, and samples from its checkpoints (docs/training.md).",
                  registeredCommands(), "train"};
  return runTool(tool, argc, argv);
}
