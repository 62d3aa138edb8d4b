//===- Ranks.h - Which rank of a data-parallel run this process is --------===//
//
// A data-parallel run is `worldSize` processes, one per GPU, each a `rank` in
// [0, worldSize); `localRank` numbers the processes of one host and picks the
// GPU. They come from the command line or from what a launcher exports:
//
//   --world-size, --rank, --local-rank   (the command line; always wins)
//   WORLD_SIZE, RANK, LOCAL_RANK         (torchrun)
//   SLURM_NTASKS, SLURM_PROCID, SLURM_LOCALID   (srun)
//
// Each of the three values is taken from the first source that has it, in
// that order; the local rank defaults to the rank (one host). Nothing at all
// means one rank. Every rank draws the same global batch of B rows as a
// one-GPU run and takes rows [r·B/N, (r+1)·B/N) of it (rankRows), so the
// batches and their order are those of the one-GPU run.
//
// CPU only; the GPU side is DataParallel.h.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace sparta::model {

struct Ranks {
  int worldSize = 1;
  int rank = 0;
  int localRank = 0;
  std::string source = "default"; // where worldSize came from, for messages

  bool distributed() const { return worldSize > 1; }
  bool writesFiles() const { return rank == 0; } // metrics, checkpoints, weights: rank 0 only
  /// Throws sparta::Error when rank or localRank is outside [0, worldSize).
  void validate() const;
};

/// What the command line gave (unset: not given).
struct RankOptions {
  std::optional<int> worldSize, rank, localRank;
};

/// The launcher variables above that are set in this process's environment.
std::map<std::string, std::string> launcherEnvironment();

/// The ranks of this process from `options` and `environment` (as above).
/// Throws sparta::Error for a non-integer variable, a world size without a
/// rank, or a rank outside the world.
Ranks resolveRanks(const RankOptions &options, const std::map<std::string, std::string> &environment);

/// Rows [begin, end) of a global batch that one rank trains on.
struct RowRange {
  int64_t begin = 0, end = 0;
  int64_t count() const { return end - begin; }
};

/// Rank `rank`'s rows of a global batch of `globalBatch` rows split over
/// `worldSize` ranks. Throws sparta::Error when worldSize does not divide it.
RowRange rankRows(int64_t globalBatch, int worldSize, int rank);

/// The CUDA device of a rank: its local rank, or device 0 when the process
/// sees exactly one device (launchers that give each task its own GPU through
/// CUDA_VISIBLE_DEVICES). Throws sparta::Error when the local rank has no device.
int rankDevice(const Ranks &ranks, int visibleDevices);

} // namespace sparta::model
