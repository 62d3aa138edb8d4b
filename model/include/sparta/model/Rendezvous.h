//===- Rendezvous.h - The ranks of a run meet through a shared file -------===//
//
// Before NCCL can connect the ranks, every rank needs the token rank 0 makes
// (ncclGetUniqueId). They exchange it through one file on a file system all
// of them see (a local folder on one host, a shared one across hosts):
//
//   rank 0   refuses a file that already exists (left by a run that did not
//            finish starting: remove it), writes FILE atomically (a temporary
//            file renamed), waits until every other rank has left its marker
//            FILE.joined-R, then removes FILE and the markers;
//   rank R   waits for FILE, checks that it was written for the same world
//            size, reads the token and leaves FILE.joined-R.
//
// Both sides give up after `timeoutSeconds` with an error that names the
// missing ranks (rank 0) or the file (the others), instead of a collective
// that never returns. CPU only; tested in tests/unit/RendezvousTest.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparta::model {

struct RendezvousOptions {
  std::string path;
  int worldSize = 1;
  double timeoutSeconds = 300;
};

/// Rank 0: publishes `token` and returns once every other rank has read it.
void publishRendezvous(const RendezvousOptions &options, const std::vector<uint8_t> &token);

/// Rank `rank` > 0: waits for rank 0's token and returns it.
std::vector<uint8_t> joinRendezvous(const RendezvousOptions &options, int rank);

} // namespace sparta::model
