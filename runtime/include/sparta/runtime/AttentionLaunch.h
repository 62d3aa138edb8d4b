//===- AttentionLaunch.h - Launching the device library's attention kernels ===//
//
// Grid, block and dynamic shared memory of every kernel of the device
// template library follow from its parameters and from the Schedule's block
// counts (kNumQBlocks / kNumKBlocks, which the code generator knows). These
// helpers compute them with the formulas of sparta/params.h (the same ones
// the kernels use), validate the parameters, raise the function's dynamic
// shared memory limit when a configuration needs more than 48 KB, and launch.
//
// A head whose mask is a union of components with different index maps runs
// one forward launch per component on one stream, MergeMode First, Middle...,
// Last; the backward runs preprocess once, then dkdv and dq per component
// (AccMode::Accumulate into zeroed workspaces when there are several
// components or a partial key map), then convertAccumulators. A fused dkdv
// kernel (FUSE_DQ, sm_90a) also accumulates dQ into the zeroed dq_acc
// (ordered by the zeroed dq_sem counters) and there is no dq kernel: dQ is
// converted from dq_acc for every mask.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/params.h"
#include "sparta/runtime/Cuda.h"

#include <cstddef>
#include <string>

namespace sparta::rt {

/// Whether `arch` (an NVRTC target) runs wgmma: sm_90a. The kernels that
/// need it: the dK/dV kernel that computes dQ too (attention_bwd_dkdv's
/// FUSE_DQ: 5 products per tile pair, no dQ kernel) and the forward over
/// query-tile pairs (attention_fwd_pairs.cuh).
bool archHasWgmma(const std::string &arch);

/// Bytes of the dq_sem counters of a backward over [B, num_heads, T].
size_t dqSemaphoreBytes(int batch, int numHeads, int seqLen);

/// Throws sparta::Error when the head set or shape is malformed.
void validateHeads(const HeadArgs &heads, int headDim, const char *kernelKind);

/// Throws sparta::Error when the tile kernel `kernel` cannot launch `blocks`
/// schedule blocks for the head set: none, or 2^31 CTAs or more (the kernels
/// number their CTAs in an int: gridSlot, attention_fwd.cuh).
void validateBlocks(const HeadArgs &heads, int blocks, const std::string &kernel);

/// The attention kernels of tile edge `tile` (Cfg's TILE: 64, 32 or 16) run
/// threadsForTile(tile) threads per CTA; a forward over query-tile pairs
/// (queryTiles = 2, attention_fwd_pairs.cuh, 64-row tiles) twice as many, on
/// `blocks` = the schedule's numQPairs() CTAs per (batch, head) row.
void launchAttentionFwd(const Function &fn, const AttnFwdParams &p, int blocks, int headDim,
                        int tile, int queryTiles, const Stream *stream);
void launchAttentionBwdPreprocess(const Function &fn, const AttnBwdParams &p, int headDim,
                                  const Stream *stream);
/// `keyTiles` = 2: the dK/dV kernel over key-tile pairs (attention_bwd_dkdv's
/// KT, 64-row tiles), twice the threads, on `numKBlocks` = numKPairs() CTAs.
void launchAttentionBwdDkdv(const Function &fn, const AttnBwdParams &p, int numKBlocks, int headDim,
                            int tile, int keyTiles, const Stream *stream);
void launchAttentionBwdDq(const Function &fn, const AttnBwdParams &p, int numQBlocks, int headDim,
                          int tile, const Stream *stream);
void launchConvertAccumulators(const Function &fn, const ConvertParams &p, const Stream *stream);

/// A TensorArg for a contiguous [B, H, T, d] tensor at `ptr`.
TensorArg tensorBHTD(DevicePtr ptr, int numHeads, int seqLen, int headDim);
/// A TensorArg for a contiguous [B, T, H, d] tensor at `ptr`.
TensorArg tensorBTHD(DevicePtr ptr, int numHeads, int seqLen, int headDim);

} // namespace sparta::rt
