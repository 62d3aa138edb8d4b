//===- Rendezvous.cpp - Token exchange through a file and join markers ----===//
#include "sparta/model/Rendezvous.h"

#include "sparta/Error.h"
#include "sparta/model/Checkpoint.h"

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

namespace sparta::model {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char *kHeader = "sparta-rendezvous world-size ";
constexpr auto kPollInterval = std::chrono::milliseconds(20);

std::string markerPath(const std::string &path, int rank) { return path + ".joined-" + std::to_string(rank); }

std::string seconds(double s) {
  std::ostringstream out;
  out << s << " s";
  return out.str();
}

/// Polls `ready` until it holds or `timeoutSeconds` have passed; returns whether it held.
template <typename Ready> bool waitUntil(double timeoutSeconds, Ready ready) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeoutSeconds);
  while (!ready()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

std::string toHex(const std::vector<uint8_t> &bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : bytes) hex += {digits[b >> 4], digits[b & 15]};
  return hex;
}

std::vector<uint8_t> fromHex(const std::string &hex, const std::string &path) {
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw Error("rendezvous file " + path + " is damaged: its token is not hexadecimal");
  };
  if (hex.empty() || hex.size() % 2) throw Error("rendezvous file " + path + " is damaged: bad token length");
  std::vector<uint8_t> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  return bytes;
}

void writeAtomically(const std::string &path, const std::string &text) {
  AtomicFile file(path);
  file.write(text);
  file.commit();
}

void removeMarkers(const std::string &path, int worldSize) {
  std::error_code ignored; // a marker that is not there is what we want
  for (int r = 1; r < worldSize; ++r) fs::remove(markerPath(path, r), ignored);
}

} // namespace

void publishRendezvous(const RendezvousOptions &o, const std::vector<uint8_t> &token) {
  if (fs::exists(o.path))
    throw Error("rendezvous file " + o.path + " already exists (left by a run that did not finish starting?); "
                "remove it and start every rank again");
  // Markers of a crashed run: no rank can have joined this run yet, as the file is not there.
  removeMarkers(o.path, o.worldSize);
  writeAtomically(o.path, kHeader + std::to_string(o.worldSize) + "\n" + toHex(token) + "\n");
  std::vector<int> missing;
  const bool allJoined = waitUntil(o.timeoutSeconds, [&] {
    missing.clear();
    for (int r = 1; r < o.worldSize; ++r)
      if (!fs::exists(markerPath(o.path, r))) missing.push_back(r);
    return missing.empty();
  });
  std::error_code ignored;
  fs::remove(o.path, ignored);
  removeMarkers(o.path, o.worldSize);
  if (!allJoined) {
    std::string ranks;
    for (int r : missing) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    throw Error("rank" + std::string(missing.size() > 1 ? "s " : " ") + ranks + " of " +
                std::to_string(o.worldSize) + " did not join through the rendezvous file " + o.path + " within " +
                seconds(o.timeoutSeconds) + " (are they running, with the same --rendezvous, on a file system "
                "every rank sees?)");
  }
}

std::vector<uint8_t> joinRendezvous(const RendezvousOptions &o, int rank) {
  const std::string who = "rank " + std::to_string(rank) + " of " + std::to_string(o.worldSize);
  if (!waitUntil(o.timeoutSeconds, [&] { return fs::exists(o.path); }))
    throw Error(who + ": rank 0 wrote no rendezvous file " + o.path + " within " + seconds(o.timeoutSeconds) +
                " (is rank 0 running, with the same --rendezvous, on a file system every rank sees?)");
  const std::vector<uint8_t> bytes = readFileBytes(o.path, "rendezvous file");
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::string header, hex;
  std::getline(in, header);
  std::getline(in, hex);
  if (header.rfind(kHeader, 0) != 0)
    throw Error("rendezvous file " + o.path + " was not written by sparta (first line '" + header + "')");
  const std::string written = header.substr(std::string(kHeader).size());
  if (written != std::to_string(o.worldSize))
    throw Error(who + ": the rendezvous file " + o.path + " was written by a rank 0 started with world size " +
                written + "; every rank must be started with the same world size");
  std::vector<uint8_t> token = fromHex(hex, o.path);
  writeAtomically(markerPath(o.path, rank), "rank " + std::to_string(rank) + "\n");
  return token;
}

} // namespace sparta::model
