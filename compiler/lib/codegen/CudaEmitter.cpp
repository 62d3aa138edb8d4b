//===- CudaEmitter.cpp - Emit the CUDA C++ of a planned pattern -----------===//
//
// One schedule struct per component (its TileSchedule as literals, plus the
// exact element predicate for table-driven components), then thin extern "C"
// entry points that instantiate the device library's kernel templates with
// it. Everything the plan decided is a constant in the source, so NVRTC
// reduces every schedule function to a handful of integer instructions.
//
//===----------------------------------------------------------------------===//
#include "sparta/CodeGen.h"

#include "sparta/Error.h"
#include "sparta/params.h"
#include "sparta/runtime/AttentionLaunch.h"

#include <fmt/format.h>

#include <set>

namespace sparta {
namespace {

using namespace tiling;

std::string mapLiteral(const IndexMap &m) {
  return fmt::format("{{{}, {}, {}, {}, {}}}", m.kind, m.T, m.p, m.w, m.pack);
}

std::string scheduleLiteral(const TileSchedule &s, const std::string &tables) {
  return fmt::format("{{/*q=*/{}, /*k=*/{}, /*qTile=*/{}, /*kTile=*/{}, /*kind=*/{}, /*dlo=*/{}, "
                     "/*dhi=*/{}, /*qlimit=*/{}, /*prefixKind=*/{}, /*count=*/{}, /*offset=*/{}, "
                     "/*skipPeriod=*/{}, /*box=*/{{{}, {}, {}, {}, {}}}, /*table=*/{}}}",
                     mapLiteral(s.q), mapLiteral(s.k), s.qTile, s.kTile, s.kind, s.dlo, s.dhi,
                     s.qlimit, s.prefixKind, s.count, s.offset, s.skipPeriod, s.box.width,
                     s.box.rowLo, s.box.rowHi, s.box.colLo, s.box.colHi, tables);
}

/// C++ boolean expression of `m` for query i and key j (ints named i, j).
std::string maskExpr(const Mask &m) {
  switch (m.kind) {
  case MaskKind::Dense: return "true";
  case MaskKind::Empty: return "false";
  case MaskKind::Band: return fmt::format("(i - j >= {} && i - j <= {})", m.lo, m.hi);
  case MaskKind::Stride:
    return m.offset == 0 ? fmt::format("((i - j) % {} == 0)", m.period)
                         : fmt::format("(((i - j) % {0} + {0}) % {0} == {1})", m.period, m.offset);
  case MaskKind::GridWindow:
    return fmt::format("(abs(i / {0} - j / {0}) <= {1} && abs(i % {0} - j % {0}) <= {2})", m.period,
                       m.dh, m.dw);
  case MaskKind::Chunk: return fmt::format("(i / {0} == j / {0})", m.size);
  case MaskKind::Summary: return fmt::format("(j % {} >= {})", m.period, m.period - m.width);
  case MaskKind::GlobalKeys: return fmt::format("(j < {})", m.count);
  case MaskKind::GlobalQueries: return fmt::format("(i < {})", m.count);
  case MaskKind::RandomBlocks:
    return fmt::format("sparta::blocks::chosen({0}ull, i / {1}, j / {1}, {2})", m.seed, m.block,
                       m.count);
  case MaskKind::Union:
  case MaskKind::Intersect: {
    std::string joined;
    for (const Mask &o : m.operands)
      joined += (joined.empty() ? "" : m.kind == MaskKind::Union ? " || " : " && ") + maskExpr(o);
    return joined.empty() ? (m.kind == MaskKind::Union ? "false" : "true") : "(" + joined + ")";
  }
  }
  throw Error("code generation: unknown mask kind");
}

std::string intArray(const std::vector<int> &values) {
  std::string out;
  for (size_t n = 0; n < values.size(); ++n)
    out += (n % 16 == 0 ? "\n    " : " ") + std::to_string(values[n]) + ",";
  return out;
}

/// A component that computes nothing, for a head whose mask allows no pair:
/// its kernels write every query row as empty (O = 0, lse = -inf) and every
/// gradient row as zero.
PlanComponent emptyComponent(int T) {
  PlanComponent c;
  c.name = "empty";
  c.description = "no allowed pairs";
  c.schedule.q = c.schedule.k = IndexMap{kIdentity, T, 1, 0, 1};
  c.schedule.qTile = kKernelTileShapes[0].qRows;
  c.schedule.kTile = kKernelTileShapes[0].kRows;
  c.schedule.kind = kBand;
  c.schedule.dhi = kUnbounded;
  c.schedule.qlimit = 0;
  return c;
}

struct Emitter {
  const Plan &plan;
  const KernelOptions &options;
  KernelSource out;
  std::string dtypeName; // "BF16" or "FP16"
  bool fuseDq = false;   // the dK/dV kernels accumulate dQ: no dQ kernels
  std::string stem;      // the kernels' name prefix: the pattern's, "_docs" for documents

  void emitComponent(const HeadPlan &head, size_t index, const PlanComponent &c, size_t count,
                     const std::string &kernelBase) {
    const std::string spec = kernelBase + "_schedule";
    std::string tables = "{}";
    std::string &src = out.source;
    src += fmt::format("// head mask {}, component {} of {}: {}\n", head.maskIndex, index + 1, count,
                       c.description);
    if (c.schedule.kind == kTable) {
      src += fmt::format("__device__ const int {0}_fwd_offsets[] = {{{1}}};\n", kernelBase,
                         intArray(c.fwdOffsets));
      src += fmt::format("__device__ const int {0}_fwd_entries[] = {{{1} 0}};\n", kernelBase,
                         intArray(c.fwdEntries));
      src += fmt::format("__device__ const int {0}_bwd_offsets[] = {{{1}}};\n", kernelBase,
                         intArray(c.bwdOffsets));
      src += fmt::format("__device__ const int {0}_bwd_entries[] = {{{1} 0}};\n", kernelBase,
                         intArray(c.bwdEntries));
      tables = fmt::format("{{{0}_fwd_offsets, {0}_fwd_entries, {0}_bwd_offsets, {0}_bwd_entries}}",
                           kernelBase);
    }
    std::string covers = "false";
    if (c.schedule.kind == kTable) {
      covers = (c.causal ? "j <= i && " : "") + maskExpr(c.part);
      for (const Mask &e : c.excluded)
        covers += " && !" + maskExpr(e);
    }
    TileSchedule s = c.hostSchedule();
    // With packed documents a CTA runs only the pairs inside its tile's
    // documents, so the work per CTA follows the documents' lengths, not the
    // schedule's lists: no longest-first order.
    const bool longestFirst = !options.documents && c.unevenLists();
    src += fmt::format("struct {} {{\n"
                       "  static constexpr int kBlockM = {}, kBlockN = {};\n"
                       "  static constexpr int kNumQBlocks = {}, kNumKBlocks = {};\n"
                       "  static constexpr bool kLongestFirst = {};\n"
                       "  static constexpr int kScheduleKind = {};\n"
                       "  __device__ __forceinline__ static sparta::tiling::TileSchedule get() {{\n"
                       "    return {};\n  }}\n"
                       "  __device__ __forceinline__ static bool covers(int i, int j) {{ return {}; }}\n"
                       "}};\n",
                       spec, s.qTile, s.kTile, s.numQBlocks(), s.numKBlocks(), longestFirst, s.kind,
                       scheduleLiteral(c.schedule, tables),
                       covers);

    bool single = count == 1;
    int merge = single ? int(MergeMode::Single)
                : index == 0 ? int(MergeMode::First)
                : index + 1 == count ? int(MergeMode::Last)
                                     : int(MergeMode::Middle);
    bool partialKeys = c.schedule.k.kind == kSummaryGather;
    int acc = (single && !partialKeys) ? int(AccMode::Write) : int(AccMode::Accumulate);
    const char *mergeNames[] = {"Single", "First", "Middle", "Last"};
    const char *accNames[] = {"Write", "Accumulate"};
    std::string sched = fmt::format("sparta::PlannedSchedule<{}>", spec);
    // Square tiles (kKernelTileShapes): the tile edge picks the kernel Cfg.
    const int tile = s.qTile;
    const std::string cfg = kernelBase + "_cfg";
    src += fmt::format("using {} = sparta::Cfg<{}, sparta::DType::{}, {}>;\n", cfg, options.headDim,
                       dtypeName, tile);
    // One-warp CTAs (16-row tiles) promise one block per SM as the minimum:
    // without it ptxas held the d = 128 dQ kernel to 128 registers and spilled.
    const std::string bounds = tile == 16 ? cfg + "::kThreads, 1" : cfg + "::kThreads";
    // A forward over query-tile pairs runs 2 warpgroups per CTA and promises 2
    // CTAs per SM (its 97 KB at d = 128; 128 registers a thread); a dK/dV
    // kernel over key-tile pairs one (146 KB; its 237-251 registers).
    auto entry = [&](const std::string &suffix, const std::string &params, const std::string &call,
                     KernelRole role, int mode, int blocks, int smem, int tiles = 1,
                     int minBlocks = 2) {
      std::string name = kernelBase + suffix;
      src += fmt::format("extern \"C\" __global__ void __launch_bounds__({})\n"
                         "{}(sparta::{} p) {{ {}; }}\n",
                         tiles == 1 ? bounds : fmt::format("{} * {}, {}", tiles, bounds, minBlocks),
                         name, params, call);
      out.kernels.push_back(KernelInfo{name, role, int(head.maskIndex), int(index), mode, blocks,
                                       smem, tile, tiles, computedElements(c)});
    };
    // The template argument DOCS only where wanted: the other kernel sets'
    // source (and so their cache keys) stays what it was.
    const char *docsArg = options.documents ? ", true" : "";
    // Tile pairs: 64-row tiles on wgmma, no documents, and the option On or
    // Auto with the planner's choice, asked only then (it holds only at the
    // head dims the paired kernel exists for; On elsewhere is refused by
    // checkKernelOptions).
    auto paired = [&](TilePairs option, auto chosen) {
      return tile == 64 && !options.documents && rt::archHasWgmma(options.arch) &&
             (option == TilePairs::On || (option == TilePairs::Auto && chosen()));
    };
    const bool pairs =
        paired(options.queryPairs, [&] { return c.pairsQueryTiles(options.headDim); });
    const int queryTiles = pairs ? 2 : 1; // pairs hold no document code: docsArg is empty
    entry("_fwd", "AttnFwdParams",
          fmt::format("sparta::attention_fwd{}<{}, {}, sparta::MergeMode::{}{}>(p)",
                      pairs ? "_pairs" : "", cfg, sched, mergeNames[merge], docsArg),
          KernelRole::Forward, merge, pairs ? s.numQPairs() : s.numQBlocks(),
          fwdSmemBytes(options.headDim, tile, queryTiles), queryTiles);
    const char *fuseArg = fuseDq ? "true" : "false";
    const bool keyPairs =
        paired(options.keyPairs, [&] { return c.pairsKeyTiles(options.headDim); });
    const int keyTiles = keyPairs ? 2 : 1;
    entry("_bwd_dkdv", "AttnBwdParams",
          fmt::format("sparta::attention_bwd_dkdv<{}, {}, sparta::AccMode::{}, {}{}>(p)", cfg, sched,
                      accNames[acc], fuseArg, keyPairs ? ", false, 2" : docsArg),
          KernelRole::BwdDkDv, acc, keyPairs ? s.numKPairs() : s.numKBlocks(),
          bwdDkdvSmemBytes(options.headDim, tile, keyTiles), keyTiles, 1);
    if (!fuseDq)
      entry("_bwd_dq", "AttnBwdParams",
            fmt::format("sparta::attention_bwd_dq<{}, {}, sparta::AccMode::{}{}>(p)", cfg, sched,
                        accNames[acc], docsArg),
            KernelRole::BwdDq, acc, s.numQBlocks(), bwdDqSmemBytes(options.headDim, tile));
    src += "\n";
  }

  void run() {
    stem = plan.patternName + (options.documents ? "_docs" : "");
    out.name = fmt::format("{}_d{}_{}_{}", stem, options.headDim, toString(options.dtype),
                           options.arch);
    dtypeName = options.dtype == ElementType::BF16 ? "BF16" : "FP16";
    // A fused dK/dV kernel accumulates dQ itself (no dQ kernels at all); it
    // needs wgmma, so the arch's and 64-row tiles in every component.
    fuseDq = options.fuseDq && rt::archHasWgmma(options.arch);
    for (const HeadPlan &head : plan.heads)
      for (const PlanComponent &c : head.components)
        fuseDq &= c.schedule.qTile == 64;
    std::string params;
    for (const auto &[name, value] : plan.params)
      params += fmt::format("{}{}={}", params.empty() ? "" : ", ", name, value);
    std::string &src = out.source;
    src += fmt::format("// Generated by sparta: pattern '{}' ({}), head dim {}, {}, {}.\n"
                       "// Do not edit: `sparta compile --emit=cuda` regenerates it.\n"
                       "#include \"sparta/attention.cuh\"\n#include \"sparta/planned_schedule.cuh\"\n#include \"sparta/random_blocks.h\"\n\n",
                       plan.patternName, params, options.headDim, toString(options.dtype),
                       options.arch);
    for (const HeadPlan &head : plan.heads) {
      std::vector<PlanComponent> components = head.components;
      if (components.empty())
        components.push_back(emptyComponent(int(plan.T)));
      std::set<std::string> used;
      for (size_t n = 0; n < components.size(); ++n) {
        std::string base = fmt::format("{}_h{}_{}", stem, head.maskIndex, components[n].name);
        if (!used.insert(base).second)
          base += std::to_string(n);
        emitComponent(head, n, components[n], components.size(), base);
      }
    }
    const std::string &prefix = stem;
    const std::string cfg = fmt::format("sparta::Cfg<{}, sparta::DType::{}>", options.headDim, dtypeName);
    src += fmt::format("extern \"C\" __global__ void __launch_bounds__(sparta::kUtilityThreads)\n"
                       "{}_bwd_preprocess(sparta::AttnBwdParams p) {{ sparta::attention_bwd_preprocess<{}>(p); }}\n",
                       prefix, cfg);
    out.kernels.push_back(KernelInfo{prefix + "_bwd_preprocess", KernelRole::BwdPreprocess, -1, -1, 0, 0, 0, 0});
    src += fmt::format("extern \"C\" __global__ void __launch_bounds__(sparta::kUtilityThreads)\n"
                       "{}_convert(sparta::ConvertParams p) {{ sparta::convert_accumulators<{}>(p); }}\n",
                       prefix, cfg);
    out.kernels.push_back(KernelInfo{prefix + "_convert", KernelRole::Convert, -1, -1, 0, 0, 0, 0});
  }
};

std::string kernelTileShapesText() {
  std::string text;
  for (TileShape shape : kKernelTileShapes)
    text += fmt::format("{}{}x{}", text.empty() ? "" : ", ", shape.qRows, shape.kRows);
  return text;
}

} // namespace

const char *toString(ElementType type) { return type == ElementType::BF16 ? "bf16" : "fp16"; }

const char *toString(TilePairs pairs) {
  return pairs == TilePairs::Auto ? "auto" : pairs == TilePairs::On ? "on" : "off";
}

TilePairs parseTilePairs(const std::string &text) {
  for (TilePairs p : {TilePairs::Auto, TilePairs::Off, TilePairs::On})
    if (text == toString(p))
      return p;
  throw Error("unknown tile-pair choice '" + text + "' (expected auto, off or on)");
}

ElementType parseElementType(const std::string &text) {
  if (text == "bf16")
    return ElementType::BF16;
  if (text == "fp16")
    return ElementType::FP16;
  throw Error("unknown dtype '" + text + "' (expected bf16 or fp16)");
}

void checkKernelOptions(const KernelOptions &options) {
  if (!isSupportedHeadDim(options.headDim))
    throw Error(fmt::format("unsupported head dim {} (supported: 32, 64, 128)", options.headDim));
  const std::string &a = options.arch;
  bool archSuffix = !a.empty() && a.back() == 'a';
  std::string digits = a.size() > 3 ? a.substr(3, a.size() - 3 - archSuffix) : "";
  bool wellFormed = a.compare(0, 3, "sm_") == 0 && !digits.empty() && digits.size() <= 3 &&
                    digits.find_first_not_of("0123456789") == std::string::npos;
  if (!wellFormed || std::stoi(digits) < 80)
    throw Error("unsupported arch '" + a + "' (expected sm_80 or newer, e.g. sm_80, sm_90a)");
  if (options.queryPairs == TilePairs::On && !rt::archHasWgmma(a))
    throw Error("the forward over query-tile pairs needs wgmma: arch sm_90a, not '" + a + "'");
  if (options.keyPairs == TilePairs::On && !rt::archHasWgmma(a))
    throw Error("the dK/dV pass over key-tile pairs needs wgmma: arch sm_90a, not '" + a + "'");
  if (options.keyPairs == TilePairs::On && options.headDim != 128)
    throw Error(fmt::format("the dK/dV pass over key-tile pairs needs head dim 128, not {}",
                            options.headDim));
}

KernelSource generateKernels(const Plan &plan, const KernelOptions &options) {
  checkKernelOptions(options);
  for (const HeadPlan &head : plan.heads)
    for (const PlanComponent &c : head.components) {
      bool offered = false;
      for (TileShape shape : kKernelTileShapes)
        offered |= shape.qRows == c.schedule.qTile && shape.kRows == c.schedule.kTile;
      if (!offered)
        throw Error(fmt::format("component '{}' of head {} is planned for {}x{} tiles, which the "
                                "kernels do not offer (kernel tile shapes: {})",
                                c.name, head.maskIndex, c.schedule.qTile, c.schedule.kTile,
                                kernelTileShapesText()));
    }
  Emitter emitter{plan, options, {}, {}, false, {}};
  emitter.run();
  return std::move(emitter.out);
}

} // namespace sparta
