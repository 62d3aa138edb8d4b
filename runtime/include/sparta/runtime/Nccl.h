//===- Nccl.h - NCCL collectives, loaded with dlopen like the driver ------===//
//
// libnccl.so.2 (or the file named by $SPARTA_NCCL_LIBRARY) is opened on first
// use, never linked, so every tool starts without NCCL and only a request for
// several ranks fails, with "NCCL not found (libnccl.so.2): needed for ...".
//
// Before NCCL runs at all the loader forces NCCL_NVLS_ENABLE=0 into the
// process environment, overriding any value the user set: NVLink multicast
// (NVLS, cuMulticastCreate) must stay off on the machines sparta is run on.
// Nothing in sparta calls cuMulticastCreate itself.
//
// Every ncclResult_t is checked; a failure throws sparta::Error naming the
// call and NCCL's description.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/runtime/Cuda.h"

#include <array>
#include <cstddef>
#include <functional>
#include <string>

struct ncclComm; // NCCL's opaque communicator (ncclComm_t is its pointer)

namespace sparta::rt {

inline constexpr const char *kNcclLibrary = "libnccl.so.2";

/// True when the NCCL library loads and has every entry point sparta uses.
/// Never throws; on false, `*why` (if given) says what failed.
bool ncclAvailable(std::string *why = nullptr);

/// Throws sparta::Error "NCCL not found (LIBRARY): needed for PURPOSE; ..."
/// when ncclAvailable() is false.
void requireNccl(const std::string &purpose);

/// The token every rank of one communicator must share (ncclUniqueId).
struct NcclUniqueId {
  std::array<char, 128> bytes{};
};

/// A fresh id (ncclGetUniqueId); made by one rank and handed to the others.
NcclUniqueId ncclNewUniqueId();

/// One rank's member of a communicator, on the device selected when it is
/// constructed (Context::get()). Collectives are asynchronous on `stream`.
class NcclCommunicator {
public:
  /// Blocks until all `worldSize` ranks have joined with the same id.
  NcclCommunicator(const NcclUniqueId &id, int worldSize, int rank);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator &) = delete;
  NcclCommunicator &operator=(const NcclCommunicator &) = delete;

  int worldSize() const { return worldSize_; }
  int rank() const { return rank_; }

  /// data[i] = the mean over the ranks of data[i] (ncclAvg), in place.
  void allReduceAverage(float *data, std::size_t count, const Stream &stream);
  /// data[i] = the sum over the ranks of data[i], in place.
  void allReduceSum(double *data, std::size_t count, const Stream &stream);

  /// Runs `collectives` between ncclGroupStart and ncclGroupEnd, so the
  /// collectives it issues are launched together.
  static void grouped(const std::function<void()> &collectives);

private:
  ncclComm *comm_ = nullptr; // ncclComm_t
  int worldSize_ = 0, rank_ = 0;
};

} // namespace sparta::rt
