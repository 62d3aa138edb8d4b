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
// components or a partial key map), then convertAccumulators.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/params.h"
#include "sparta/runtime/Cuda.h"

namespace sparta::rt {

/// Throws sparta::Error when the head set or shape is malformed.
void validateHeads(const HeadArgs &heads, int headDim, const char *kernelKind);

void launchAttentionFwd(const Function &fn, const AttnFwdParams &p, int numQBlocks, int headDim,
                        const Stream *stream);
void launchAttentionBwdPreprocess(const Function &fn, const AttnBwdParams &p, int headDim,
                                  const Stream *stream);
void launchAttentionBwdDkdv(const Function &fn, const AttnBwdParams &p, int numKBlocks, int headDim,
                            const Stream *stream);
void launchAttentionBwdDq(const Function &fn, const AttnBwdParams &p, int numQBlocks, int headDim,
                          const Stream *stream);
void launchConvertAccumulators(const Function &fn, const ConvertParams &p, const Stream *stream);

/// A TensorArg for a contiguous [B, H, T, d] tensor at `ptr`.
TensorArg tensorBHTD(DevicePtr ptr, int numHeads, int seqLen, int headDim);
/// A TensorArg for a contiguous [B, T, H, d] tensor at `ptr`.
TensorArg tensorBTHD(DevicePtr ptr, int numHeads, int seqLen, int headDim);

} // namespace sparta::rt
