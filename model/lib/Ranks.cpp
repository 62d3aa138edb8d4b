//===- Ranks.cpp - Ranks from the command line or a launcher's variables --===//
#include "sparta/model/Ranks.h"

#include "sparta/Error.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <tuple>

namespace sparta::model {
namespace {

/// One launcher's names for the three values.
struct LauncherVariables {
  const char *launcher, *worldSize, *rank, *localRank;
};
constexpr LauncherVariables kLaunchers[] = {
    {"torchrun", "WORLD_SIZE", "RANK", "LOCAL_RANK"},
    {"Slurm", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID"},
};

int parseCount(const std::string &name, const std::string &text) {
  errno = 0;
  char *end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < 0 || v > INT_MAX)
    throw Error(name + "='" + text + "' is not a non-negative integer");
  return int(v);
}

/// The first launcher variable of `pick` that is set, with its name.
std::optional<std::pair<int, std::string>> fromEnvironment(const std::map<std::string, std::string> &env,
                                                           const char *LauncherVariables::*pick) {
  for (const LauncherVariables &l : kLaunchers) {
    auto it = env.find(l.*pick);
    if (it != env.end())
      return std::make_pair(parseCount(it->first, it->second),
                            std::string(l.*pick) + " (" + l.launcher + ")");
  }
  return std::nullopt;
}

} // namespace

void Ranks::validate() const {
  if (worldSize < 1) throw Error("the world size must be at least 1 (got " + std::to_string(worldSize) + ")");
  if (rank < 0 || rank >= worldSize)
    throw Error("rank " + std::to_string(rank) + " does not exist in a world of " + std::to_string(worldSize) +
                " (ranks are 0 to " + std::to_string(worldSize - 1) + ")");
  if (localRank < 0 || localRank >= worldSize)
    throw Error("local rank " + std::to_string(localRank) + " is outside a world of " +
                std::to_string(worldSize));
}

std::map<std::string, std::string> launcherEnvironment() {
  std::map<std::string, std::string> env;
  for (const LauncherVariables &l : kLaunchers)
    for (const char *name : {l.worldSize, l.rank, l.localRank})
      if (const char *value = std::getenv(name)) env[name] = value;
  return env;
}

Ranks resolveRanks(const RankOptions &options, const std::map<std::string, std::string> &env) {
  Ranks r;
  std::string rankSource = "default";
  if (options.worldSize) {
    r.worldSize = *options.worldSize, r.source = "--world-size";
  } else if (auto fromEnv = fromEnvironment(env, &LauncherVariables::worldSize)) {
    std::tie(r.worldSize, r.source) = *fromEnv;
  }
  if (options.rank) {
    r.rank = *options.rank, rankSource = "--rank";
  } else if (auto fromEnv = fromEnvironment(env, &LauncherVariables::rank)) {
    std::tie(r.rank, rankSource) = *fromEnv;
  } else if (r.worldSize > 1) {
    throw Error("a world size of " + std::to_string(r.worldSize) + " (from " + r.source +
                ") needs this process's rank: --rank R, or RANK (torchrun) or SLURM_PROCID (Slurm) "
                "in the environment");
  }
  if (options.localRank)
    r.localRank = *options.localRank;
  else if (auto fromEnv = fromEnvironment(env, &LauncherVariables::localRank))
    r.localRank = fromEnv->first;
  else
    r.localRank = r.rank;
  if (r.rank >= r.worldSize)
    throw Error("rank " + std::to_string(r.rank) + " (from " + rankSource + ") does not exist in a world of " +
                std::to_string(r.worldSize) + " (from " + r.source + "); ranks are 0 to " +
                std::to_string(r.worldSize - 1));
  r.validate();
  return r;
}

RowRange rankRows(int64_t globalBatch, int worldSize, int rank) {
  if (worldSize < 1 || rank < 0 || rank >= worldSize)
    throw Error("rank " + std::to_string(rank) + " does not exist in a world of " + std::to_string(worldSize));
  if (globalBatch < 1 || globalBatch % worldSize != 0)
    throw Error("the batch of " + std::to_string(globalBatch) + " rows cannot be split over " +
                std::to_string(worldSize) + " ranks: --batch must be a multiple of the world size (each rank "
                "trains on batch / world-size rows)");
  const int64_t rows = globalBatch / worldSize;
  return {rank * rows, (rank + 1) * rows};
}

int rankDevice(const Ranks &ranks, int visibleDevices) {
  if (visibleDevices == 1) return 0;
  if (ranks.localRank >= visibleDevices)
    throw Error("local rank " + std::to_string(ranks.localRank) + " needs CUDA device " +
                std::to_string(ranks.localRank) + ", but this process sees " + std::to_string(visibleDevices) +
                " (start at most that many ranks per host, or pass --local-rank)");
  return ranks.localRank;
}

} // namespace sparta::model
