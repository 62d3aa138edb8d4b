//===- CodeGen.h - CUDA C++ for a plan ---------------------------------------===//
//
// Generates the CUDA C++ of one kernel set: every kernel that computes the
// forward and backward attention of a planned pattern for one head dim, dtype
// and target. The source is specialised to the plan (T, L, c, tile sizes and
// index maps are literals; each component's schedule is a constant object the
// compiler folds) and includes the device template library (runtime/device),
// which NVRTC receives from memory.
//
// The kernel list says how the runtime launches each kernel: per head mask,
// its components' forward kernels in order, then for the backward the
// preprocess kernel, each component's dK/dV and dQ kernels and, when
// gradients were accumulated, the convert kernel.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Plan.h"

#include <string>
#include <vector>

namespace sparta {

enum class ElementType { BF16, FP16 };
const char *toString(ElementType type);
ElementType parseElementType(const std::string &text); // "bf16" | "fp16", else throws

enum class TilePairs { Auto, Off, On };
const char *toString(TilePairs pairs);
TilePairs parseTilePairs(const std::string &text); // "auto" | "off" | "on", else throws

struct KernelOptions {
  int headDim = 64;                 // 32, 64 or 128
  ElementType dtype = ElementType::BF16;
  std::string arch = "sm_90a";      // sm_80, sm_86, sm_89, sm_90, sm_90a, ...
  // Where the arch allows it (rt::archHasWgmma) and every component has
  // 64-row tiles: the dK/dV kernel also accumulates dQ, in a fixed order (5
  // products per tile pair instead of 7, no dQ kernels).
  bool fuseDq = false;
  // The kernel set for packed documents (documents.h): the attention kernels
  // read AttnFwdParams/AttnBwdParams::doc_ids; names and program carry
  // "_docs". Without it the kernels hold no document code.
  bool documents = false;
  // The forward kernels over query-tile pairs (attention_fwd_pairs.cuh, on
  // wgmma: sm_90a) for components of 64-row tiles: Auto where
  // PlanComponent::pairsQueryTiles(d) on sm_90a, On for every such component
  // (another arch is an error), Off for none. Packed documents never pair.
  TilePairs queryPairs = TilePairs::Auto;
  // The dK/dV kernels over key-tile pairs (attention_bwd_dkdv's KT = 2: two
  // warpgroups, 128 keys per CTA; wgmma at head dim 128) for components of
  // 64-row tiles: Auto where PlanComponent::pairsKeyTiles(d) on sm_90a, On
  // for every such component (another arch or head dim is an error), Off for
  // none. Packed documents never pair.
  TilePairs keyPairs = TilePairs::Off;
};

/// Validates options (head dim, arch spelling); throws sparta::Error.
void checkKernelOptions(const KernelOptions &options);

enum class KernelRole {
  Forward,       // one per component
  BwdPreprocess, // D = rowsum(dO * O), once per kernel set
  BwdDkDv,       // one per component
  BwdDq,         // one per component
  Convert,       // fp32 gradient workspaces to dtype, once per kernel set
};

struct KernelInfo {
  std::string name; // the PTX .entry
  KernelRole role;
  int maskIndex = -1;      // head mask served (-1: every head)
  int component = -1;      // index in HeadPlan::components
  int mode = 0;            // MergeMode (Forward) or AccMode (BwdDkDv, BwdDq) of params.h
  int blocksPerHead = 0;   // grid.x (grid.y = batch * heads served); 0: set by the runtime
  int sharedBytes = 0;     // dynamic shared memory
  int tile = 0;            // tile edge of an attention kernel (Cfg; block size); 0 otherwise
  int tilesPerCta = 1;     // own tiles per CTA: 2 for a forward over query-tile pairs and a
                           // dK/dV kernel over key-tile pairs
  int64_t work = 0;        // score elements computed per head (computedElements of the
                           // component); 0 for the utility kernels
};

struct KernelSource {
  std::string name;   // program name, e.g. "strided_d64_bf16"
  std::string source; // CUDA C++
  std::vector<KernelInfo> kernels;
};

KernelSource generateKernels(const Plan &plan, const KernelOptions &options);

} // namespace sparta
