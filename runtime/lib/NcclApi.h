//===- NcclApi.h - The part of NCCL's C API that sparta calls -------------===//
//
// Declared here rather than taken from <nccl.h> so that nothing links NCCL:
// Nccl.cpp opens libnccl.so.2 with dlopen and resolves these six entry points
// by name. The values and layouts are those of NCCL 2's stable C ABI (nccl.h:
// ncclUniqueId is 128 bytes passed by value, the enums are C enums of int
// size). Private to the runtime.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>

struct CUstream_st;
struct ncclComm; // opaque, as in nccl.h

namespace sparta::rt::ncclabi {

constexpr int kUniqueIdBytes = 128; // NCCL_UNIQUE_ID_BYTES
struct UniqueId {
  char internal[kUniqueIdBytes];
};
using CommHandle = ncclComm *; // ncclComm_t

using Result = int; // ncclResult_t
constexpr Result kSuccess = 0;
enum DataType : int { Float32 = 7, Float64 = 8 };
enum ReduceOp : int { Sum = 0, Avg = 4 };

// X(symbol, its function type)
#define SPARTA_NCCL_FUNCS(X)                                                                      \
  X(ncclGetUniqueId, Result(UniqueId *))                                                       \
  X(ncclCommInitRank, Result(CommHandle *, int worldSize, UniqueId, int rank))                 \
  X(ncclAllReduce, Result(const void *, void *, std::size_t, DataType, ReduceOp, CommHandle,    \
                              CUstream_st *))                                                      \
  X(ncclGroupStart, Result())                                                                  \
  X(ncclGroupEnd, Result())                                                                    \
  X(ncclCommDestroy, Result(CommHandle))                                                       \
  X(ncclGetErrorString, const char *(Result))

} // namespace sparta::rt::ncclabi
