//===- Autotune.h - Choose a kernel set's tile edge by timing it ------------===//
//
// The planner picks each component's tile from a cost model (docs/compiler.md);
// where the model is unsure, the device can decide. Autotuning compiles the
// few candidate kernel sets of one configuration (the planner's choice and
// every tile edge the kernels offer, forced for all components; candidates
// whose generated code is the same are timed once), times a forward and a
// backward of each on the device, and keeps the fastest. The choice is stored
// in the kernel cache as a tuning record (KernelCache::storeRecord), keyed by
// the candidates' code and the device, so each configuration is timed once per
// machine; later constructions read the record.
//
// Off unless asked for: AttentionConfig::autotune = Autotune::On, or
// SPARTA_AUTOTUNE=1 in the environment when the config leaves it to the
// environment (the default). A config that forces a tile edge is never tuned.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/SparseAttention.h"

#include <optional>
#include <string>
#include <vector>

namespace sparta {

/// One candidate of a tuning run: the tile edge forced for every component
/// (0: the planner's per-component choice) and its median time.
struct TileTiming {
  int tile = 0;
  float milliseconds = 0.f;
};

struct TileChoice {
  int tile = 0;                     // what AttentionConfig::tile becomes
  std::vector<TileTiming> timings;  // empty when read from a tuning record
  bool fromRecord = false;
  std::string recordKey;            // the record's key in the kernel cache
};

/// Whether `config` asks for tuning: never when it forces a tile edge; else
/// its `autotune`, where Autotune::Environment reads SPARTA_AUTOTUNE ("1" on,
/// "0" or unset off; anything else is an error that says so).
bool autotuneRequested(const AttentionConfig &config);

/// The candidate tile edges of `pattern` under `config` (0 first), one per
/// distinct generated kernel set; runs no NVRTC and needs no GPU.
std::vector<int> autotuneCandidates(const ConcretePattern &pattern, const AttentionConfig &config);

/// The record key of a tuning run: a digest of the candidates' generated code,
/// the device's name and arch and sparta's version.
std::string autotuneRecordKey(const ConcretePattern &pattern, const AttentionConfig &config,
                              const std::string &deviceName, const std::string &arch);

/// The tuning record's text for `choice`, and its parse (nothing when the
/// text is not a record naming one of `candidates`).
std::string formatTuningRecord(const TileChoice &choice);
std::optional<int> parseTuningRecord(const std::string &text, const std::vector<int> &candidates);

/// Reads the choice from the kernel cache, or times the candidates on
/// config's device and stores the choice (a line on stderr reports a timing
/// run). With a single candidate nothing is timed.
TileChoice autotuneTile(const ConcretePattern &pattern, const AttentionConfig &config);

} // namespace sparta
