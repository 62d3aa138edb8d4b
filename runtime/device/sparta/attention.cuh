//===- attention.cuh - The whole device template library ------------------===//
//
// Generated kernels include this one header. Layers, bottom up:
//   params.h                 host+device parameter structs and config formulas
//   numeric.cuh              16-bit storage, conversions, exp2/log2
//   mma.cuh                  mma.sync / wgmma / ldmatrix / cp.async wrappers
//   tile_io.cuh              gathered, swizzled tile loads and stores
//   tile_mma.cuh             the one product shape: mma.sync or wgmma
//   schedule.cuh             the Schedule concept (read this first)
//   attention_fwd.cuh        forward with MergeMode
//   attention_fwd_pairs.cuh  the forward over query-tile pairs (two warpgroups)
//   attention_bwd_*.cuh      preprocess, dK/dV, dQ, accumulator conversion
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_ATTENTION_CUH
#define SPARTA_ATTENTION_CUH

#include "sparta/attention_fwd.cuh"
#include "sparta/attention_fwd_pairs.cuh"
#include "sparta/attention_bwd_dkdv.cuh"
#include "sparta/attention_bwd_dq.cuh"
#include "sparta/attention_bwd_utility.cuh"

#endif // SPARTA_ATTENTION_CUH
