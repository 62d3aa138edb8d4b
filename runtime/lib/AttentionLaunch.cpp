//===- AttentionLaunch.cpp - Grids and shared memory of the attention kernels ===//
#include "sparta/runtime/AttentionLaunch.h"

#include "sparta/Error.h"

#include <fmt/format.h>

#include <limits>

namespace sparta::rt {
namespace {

// The default dynamic shared memory limit; above it the function attribute
// must be raised first.
constexpr int kDefaultSmemLimit = 48 * 1024;

void prepareSmem(const Function &fn, int bytes) {
  if (bytes <= kDefaultSmemLimit)
    return;
  const DeviceInfo &dev = Context::get().device();
  if (bytes > dev.maxSharedPerBlockOptin)
    throw Error(fmt::format("kernel '{}' needs {} bytes of shared memory; {} ({}) allows {}",
                            fn.name(), bytes, dev.name, dev.arch(), dev.maxSharedPerBlockOptin));
  fn.setMaxDynamicSharedMemory(bytes);
}

Dim3 rowGrid(const HeadArgs &h, unsigned blocksX, unsigned z = 1) {
  return Dim3{blocksX, static_cast<unsigned>(h.batch) * static_cast<unsigned>(h.heads_in_launch), z};
}

void checkBlocks(int n, const HeadArgs &h, const Function &fn) { validateBlocks(h, n, fn.name()); }

const Dim3 kUtilityBlock{static_cast<unsigned>(kUtilityThreads), 1, 1};

/// The block of an attention kernel of tile edge `tile`.
Dim3 tileBlock(int tile, const Function &fn) {
  if (!isKernelTile(tile))
    throw Error(fmt::format("kernel '{}': no attention kernel has {}-position tiles (64, 32, 16)",
                            fn.name(), tile));
  return Dim3{static_cast<unsigned>(threadsForTile(tile)), 1, 1};
}

// The kernels move rows in 16-byte pieces: every row must start 16-byte aligned.
void checkTensor(const TensorArg &t, const char *what, const Function &fn) {
  if (!t.ptr)
    return; // unused by this kernel variant (e.g. O of MergeMode::First)
  const auto addr = reinterpret_cast<unsigned long long>(t.ptr);
  if (addr % 16 || t.stride_b % 8 || t.stride_h % 8 || t.stride_t % 8)
    throw Error(fmt::format("kernel '{}': tensor {} must be 16-byte aligned with strides that are "
                            "multiples of 8 elements (ptr {:#x}, strides b {} h {} t {})",
                            fn.name(), what, addr, t.stride_b, t.stride_h, t.stride_t));
}
void checkBwdTensors(const AttnBwdParams &p, const Function &fn) {
  checkTensor(p.q, "q", fn), checkTensor(p.k, "k", fn), checkTensor(p.v, "v", fn);
  checkTensor(p.o, "o", fn), checkTensor(p.dout, "dout", fn), checkTensor(p.dq, "dq", fn);
  checkTensor(p.dk, "dk", fn), checkTensor(p.dv, "dv", fn);
}

} // namespace

bool archHasWgmma(const std::string &arch) { return arch == "sm_90a"; }

size_t dqSemaphoreBytes(int batch, int numHeads, int seqLen) {
  return static_cast<size_t>(batch) * numHeads * seqLen * sizeof(i32);
}

void validateHeads(const HeadArgs &h, int headDim, const char *kind) {
  auto fail = [&](const std::string &why) {
    throw Error(fmt::format("bad {} launch: {} (batch {}, num_heads {}, T {}, heads {}+{}*s for "
                            "s < {}, d {})",
                            kind, why, h.batch, h.num_heads, h.seq_len, h.head_offset, h.head_step,
                            h.heads_in_launch, headDim));
  };
  if (!isSupportedHeadDim(headDim))
    fail("head dim must be 32, 64 or 128");
  if (h.batch <= 0 || h.num_heads <= 0 || h.seq_len <= 0 || h.heads_in_launch <= 0)
    fail("sizes must be positive");
  if (h.head_offset < 0 || h.head_step <= 0 ||
      h.head_offset + static_cast<long long>(h.head_step) * (h.heads_in_launch - 1) >= h.num_heads)
    fail("the head set leaves [0, num_heads)");
  if (static_cast<long long>(h.batch) * h.heads_in_launch > 65535)
    fail("batch * heads_in_launch exceeds grid.y (65535)");
}

void validateBlocks(const HeadArgs &h, int blocks, const std::string &kernel) {
  if (blocks <= 0)
    throw Error(fmt::format("kernel '{}': the schedule has {} blocks", kernel, blocks));
  const long long rows = static_cast<long long>(h.batch) * h.heads_in_launch;
  if (blocks * rows > std::numeric_limits<int>::max())
    throw Error(fmt::format("kernel '{}': {} blocks x {} (batch, head) rows is more than 2^31 - 1 "
                            "CTAs", kernel, blocks, rows));
}

void launchAttentionFwd(const Function &fn, const AttnFwdParams &p, int blocks, int headDim,
                        int tile, int queryTiles, const Stream *stream) {
  validateHeads(p.heads, headDim, "attention forward");
  checkBlocks(blocks, p.heads, fn);
  checkTensor(p.q, "q", fn), checkTensor(p.k, "k", fn), checkTensor(p.v, "v", fn);
  checkTensor(p.o, "o", fn);
  Dim3 block = tileBlock(tile, fn);
  if (queryTiles != 1 && (queryTiles != 2 || tile != 64))
    throw Error(fmt::format("kernel '{}': a forward takes 1 query tile per CTA, or 2 of 64 rows, "
                            "not {} of {}", fn.name(), queryTiles, tile));
  block.x *= queryTiles;
  const int smem = fwdSmemBytes(headDim, tile, queryTiles);
  prepareSmem(fn, smem);
  launch(fn, rowGrid(p.heads, blocks), block, smem, stream, p);
}

void launchAttentionBwdPreprocess(const Function &fn, const AttnBwdParams &p, int headDim,
                                  const Stream *stream) {
  validateHeads(p.heads, headDim, "attention backward preprocess");
  checkBwdTensors(p, fn);
  const unsigned blocks = (p.heads.seq_len + kRowsPerUtilityBlock - 1) / kRowsPerUtilityBlock;
  launch(fn, rowGrid(p.heads, blocks), kUtilityBlock, 0, stream, p);
}

void launchAttentionBwdDkdv(const Function &fn, const AttnBwdParams &p, int numKBlocks, int headDim,
                            int tile, int keyTiles, const Stream *stream) {
  validateHeads(p.heads, headDim, "attention backward dK/dV");
  checkBwdTensors(p, fn);
  checkBlocks(numKBlocks, p.heads, fn);
  Dim3 block = tileBlock(tile, fn);
  if (keyTiles != 1 && (keyTiles != 2 || tile != 64 || headDim != 128))
    throw Error(fmt::format("kernel '{}': a dK/dV pass takes 1 key tile per CTA, or 2 of 64 rows "
                            "at head dim 128, not {} of {} at {}",
                            fn.name(), keyTiles, tile, headDim));
  block.x *= keyTiles;
  const int smem = bwdDkdvSmemBytes(headDim, tile, keyTiles);
  prepareSmem(fn, smem);
  launch(fn, rowGrid(p.heads, numKBlocks), block, smem, stream, p);
}

void launchAttentionBwdDq(const Function &fn, const AttnBwdParams &p, int numQBlocks, int headDim,
                          int tile, const Stream *stream) {
  validateHeads(p.heads, headDim, "attention backward dQ");
  checkBwdTensors(p, fn);
  checkBlocks(numQBlocks, p.heads, fn);
  const Dim3 block = tileBlock(tile, fn);
  const int smem = bwdDqSmemBytes(headDim, tile);
  prepareSmem(fn, smem);
  launch(fn, rowGrid(p.heads, numQBlocks), block, smem, stream, p);
}

void launchConvertAccumulators(const Function &fn, const ConvertParams &p, const Stream *stream) {
  validateHeads(p.heads, p.head_dim, "convert_accumulators");
  if (p.count < 1 || p.count > 3)
    throw Error(fmt::format("convert_accumulators converts 1 to 3 tensors, not {}", p.count));
  for (int i = 0; i < p.count; ++i)
    checkTensor(p.dst[i], "dst", fn);
  const unsigned blocks = (p.heads.seq_len + kRowsPerUtilityBlock - 1) / kRowsPerUtilityBlock;
  launch(fn, rowGrid(p.heads, blocks, p.count), kUtilityBlock, 0, stream, p);
}

TensorArg tensorBHTD(DevicePtr ptr, int numHeads, int seqLen, int headDim) {
  const i64 t = headDim, h = t * seqLen, b = h * numHeads;
  return TensorArg{reinterpret_cast<void *>(ptr), b, h, t};
}

TensorArg tensorBTHD(DevicePtr ptr, int numHeads, int seqLen, int headDim) {
  const i64 h = headDim, t = h * numHeads, b = t * seqLen;
  return TensorArg{reinterpret_cast<void *>(ptr), b, h, t};
}

} // namespace sparta::rt
