//===- SparseAttentionTest.cpp - Compiled patterns on the GPU vs fp64 --------===//
//
// The end-to-end GPU suite: every file in patterns/ goes through the whole
// pipeline (front end, planner, code generator, NVRTC, cache, runtime) and its
// forward and backward run on the GPU, for bf16 and fp16 and d in {32, 64,
// 128}, at a ragged T (1000) and at T = 4096, with B = 2 and H = 3 (so the
// heads wrap around the pattern's masks unevenly). CorpusOnGpu adds entries of
// the plan corpus (tests/plan-corpus/, tests/unit/PlanCorpusTest.cpp) that
// reach each lowering: packed short groups, dilated windows, global keys
// minus a stride, one table over overlapping windows, strides with an offset
// and bidirectional cuts and bands; EmptyHeads runs masks with no pair (O = 0,
// lse = -inf, zero gradients); GridBoxes runs 2-D grid windows, whose rows
// hold whole tiles, through their grid-box schedules. TileShapes runs every pattern file with each
// kernel tile edge forced (AttentionConfig::tile) and checks that a second
// backward gives the same bits. QueryPairs forces the forward over
// query-tile pairs on every 64-row component and checks its bits against the
// unpaired forward's. Documents runs packed documents (cu_seqlens) against
// the pattern evaluated per document.
//
// Criterion (FlashAttention style): the kernel's max error against an fp64
// reference computed from the same rounded inputs must be at most twice the
// error of a straightforward implementation in the same low precision (inputs,
// scores, probabilities and outputs rounded to the dtype), plus a slack of
// 1e-3 x max|reference| (half a bf16 ulp of the largest value); for dQ and dK
// at least the fp32 rounding of the cancellation dP - D (an exactly zero
// reference, e.g. T = 1). Outputs are
// poisoned with NaN before each run, so an unwritten element fails.
// SPARTA_GPU_TEST_REDUCED=1 runs one small case per pattern (for sanitizers).
//
// Compilation and the CPU references dominate the run time, so cases run on
// threads; GPU work is serialised by a mutex.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"

#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/Frontend.h"
#include "sparta/ReferenceAttention.h"
#include "sparta/SparseAttention.h"
#include "sparta/runtime/AttentionLaunch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace sparta {
namespace {

struct Case {
  std::string file; // relative to the source tree
  ParamBindings params;
  ElementType dtype;
  int d;
  int64_t B = 2, H = 3;
  int tile = 0;          // AttentionConfig::tile (0: the planner's choice)
  bool rerun = false;    // run forward and backward twice; the bits must agree
  // Packed documents: B rows of N + 1 boundaries (empty: none); the reference
  // is then the pattern per document, at local positions.
  std::vector<int32_t> cuSeqlens = {};
  bool sameAsUnpacked = false; // the bits must equal a run without documents
  bool fuseDq = false;         // AttentionConfig::fuseDq
  TilePairs queryPairs = TilePairs::Auto; // AttentionConfig::queryPairs
  bool sameAsUnpaired = false; // O and lse must equal, bit for bit, those of
                               // the forward without query-tile pairs
  TilePairs keyPairs = TilePairs::Off; // AttentionConfig::keyPairs
  bool gradsAsUnpairedKeys = false; // dQ, dK, dV must equal, bit for bit, those
                                    // of the backward without key-tile pairs
};

struct Outcome {
  std::string label;
  bool passed = false;
  std::string detail;
};

std::mutex gpuMutex;

/// A file of the source tree; $SPARTA_SOURCE_DIR overrides the build's
/// path when the tests run from a copied install tree (the GPU machine).
std::string sourcePath(const std::string &file) {
  const char *root = std::getenv("SPARTA_SOURCE_DIR");
  return std::string(root && *root ? root : SPARTA_SOURCE_DIR) + "/" + file;
}

std::vector<uint16_t> toBits(const std::vector<float> &x, ElementType t) {
  std::vector<uint16_t> bits(x.size());
  for (size_t n = 0; n < x.size(); ++n)
    bits[n] = t == ElementType::BF16 ? bf16Bits(x[n]) : fp16Bits(x[n]);
  return bits;
}

std::vector<float> fromBits(const std::vector<uint16_t> &bits, ElementType t) {
  std::vector<float> x(bits.size());
  for (size_t n = 0; n < bits.size(); ++n)
    x[n] = t == ElementType::BF16 ? bf16Value(bits[n]) : fp16Value(bits[n]);
  return x;
}

/// Compares one output; appends to `detail` and returns false on failure.
/// `floor`: an absolute slack for gradients whose reference is an exact
/// cancellation (dQ, dK of a row with one key: dS = P (dP - D) with P = 1, and
/// dP, D are fp32 sums of the same d products taken in different orders).
bool within(const char *what, const std::vector<float> &got, const std::vector<float> &ref,
            const std::vector<float> &lowPrecision, std::string &detail, double floor = 0) {
  for (float x : got)
    if (std::isnan(x)) {
      detail += std::string(what) + ": NaN (unwritten or invalid) element; ";
      return false;
    }
  double err = maxAbsDiff(got, ref), lpErr = maxAbsDiff(lowPrecision, ref);
  double bound = 2 * lpErr + std::max(floor, 1e-3 * std::max(1e-6, maxAbs(ref)));
  char line[200];
  std::snprintf(line, sizeof line, "%s err %.3g (low-precision %.3g, bound %.3g); ", what, err,
                lpErr, bound);
  detail += line;
  return err <= bound;
}

Outcome runCase(const Case &c) {
  Outcome out;
  int64_t T = c.params.at("T");
  out.label = c.file;
  for (const auto &[name, value] : c.params)
    out.label += " " + name + "=" + std::to_string(value);
  out.label += std::string(" ") + toString(c.dtype) + " d=" + std::to_string(c.d);
  if (c.tile)
    out.label += " tile=" + std::to_string(c.tile);
  if (c.fuseDq)
    out.label += " fuseDq";
  if (c.queryPairs != TilePairs::Auto)
    out.label += std::string(" pairs=") + toString(c.queryPairs);
  if (c.keyPairs != TilePairs::Off)
    out.label += std::string(" keyPairs=") + toString(c.keyPairs);
  if (!c.cuSeqlens.empty()) {
    out.label += " cu_seqlens=";
    for (int32_t x : c.cuSeqlens)
      out.label += std::to_string(x) + ",";
  }
  ConcretePattern pattern = loadPattern(sourcePath(c.file), c.params);
  AttentionShape shape{c.B, c.H, T, c.d};
  std::mt19937 rng(uint32_t(T * 131 + c.d * 7 + int(c.dtype)));
  std::normal_distribution<float> normal(0.f, 1.f);
  auto random = [&] {
    std::vector<float> x(size_t(shape.elements()));
    for (float &v : x)
      v = normal(rng);
    return fromBits(toBits(x, c.dtype), c.dtype); // exactly representable inputs
  };
  std::vector<float> q = random(), k = random(), v = random(), dout = random();
  double scale = 1.0 / std::sqrt(double(c.d));

  std::vector<float> o, lse, dq, dk, dv;
  AttentionConfig config;
  config.headDim = c.d;
  config.dtype = c.dtype;
  config.tile = c.tile;
  config.fuseDq = c.fuseDq;
  config.queryPairs = c.queryPairs;
  config.keyPairs = c.keyPairs;
  SparseAttention attention(pattern, config); // NVRTC (or the cache), in parallel
  AttentionConfig unpairedConfig = config;
  unpairedConfig.queryPairs = TilePairs::Off;
  std::optional<SparseAttention> unpaired;
  if (c.sameAsUnpaired)
    unpaired.emplace(pattern, unpairedConfig);
  AttentionConfig unpairedKeysConfig = config;
  unpairedKeysConfig.keyPairs = TilePairs::Off;
  std::optional<SparseAttention> unpairedKeys;
  if (c.gradsAsUnpairedKeys)
    unpairedKeys.emplace(pattern, unpairedKeysConfig);
  {
    std::lock_guard<std::mutex> lock(gpuMutex);
    size_t bytes = size_t(shape.elements()) * 2;
    rt::DeviceBuffer dq_(bytes), dk_(bytes), dv_(bytes), o_(bytes), q_(bytes), k_(bytes), v_(bytes),
        do_(bytes), lse_(size_t(shape.rows()) * 4);
    q_.upload(toBits(q, c.dtype).data(), bytes);
    k_.upload(toBits(k, c.dtype).data(), bytes);
    v_.upload(toBits(v, c.dtype).data(), bytes);
    do_.upload(toBits(dout, c.dtype).data(), bytes);
    std::vector<uint16_t> poison(size_t(shape.elements()), 0xFFFF); // NaN in bf16 and fp16
    for (rt::DeviceBuffer *b : {&o_, &dq_, &dk_, &dv_})
      b->upload(poison.data(), bytes);
    auto view = [&](const rt::DeviceBuffer &b) { return TensorView::bhtd(b.ptr(), c.B, c.H, T, c.d); };
    rt::Stream stream;
    rt::DeviceBuffer cu_(std::max<size_t>(1, c.cuSeqlens.size()) * 4);
    if (!c.cuSeqlens.empty())
      cu_.upload(c.cuSeqlens.data(), c.cuSeqlens.size() * 4);
    const Documents documents{cu_.ptr(), int64_t(c.cuSeqlens.size()) / c.B - 1};
    auto run = [&](const Documents *docs) {
      attention.forward(view(q_), view(k_), view(v_), view(o_), lse_.ptr(), stream, nullptr, docs);
      attention.backward(view(q_), view(k_), view(v_), view(o_), lse_.ptr(), view(do_), view(dq_),
                         view(dk_), view(dv_), stream, nullptr, docs);
      stream.synchronize();
    };
    auto bitsOf = [&](const rt::DeviceBuffer &b) {
      std::vector<uint16_t> bits(size_t(shape.elements()));
      b.download(bits.data(), bytes);
      return bits;
    };
    const Documents *docs = c.cuSeqlens.empty() ? nullptr : &documents;
    if (c.sameAsUnpacked) {
      run(nullptr);
      const std::vector<uint16_t> plain[] = {bitsOf(o_), bitsOf(dq_), bitsOf(dk_), bitsOf(dv_)};
      for (rt::DeviceBuffer *b : {&o_, &dq_, &dk_, &dv_})
        b->upload(poison.data(), bytes);
      run(docs);
      const char *names[] = {"o", "dq", "dk", "dv"};
      const rt::DeviceBuffer *packed[] = {&o_, &dq_, &dk_, &dv_};
      for (int n = 0; n < 4; ++n)
        if (bitsOf(*packed[n]) != plain[n]) {
          out.detail += std::string(names[n]) + " of one document differs from no documents; ";
          return out;
        }
      out.detail += "one document bit-identical to none; ";
    } else {
      run(docs);
    }
    if (c.rerun) {
      const std::vector<uint16_t> first[] = {bitsOf(o_), bitsOf(dq_), bitsOf(dk_), bitsOf(dv_)};
      run(docs);
      const char *names[] = {"o", "dq", "dk", "dv"};
      const rt::DeviceBuffer *again[] = {&o_, &dq_, &dk_, &dv_};
      for (int n = 0; n < 4; ++n)
        if (bitsOf(*again[n]) != first[n]) {
          out.detail += std::string(names[n]) + " differs between two runs; ";
          return out;
        }
      out.detail += "rerun bit-identical; ";
    }
    if (unpaired) { // the unpaired forward's bits, into fresh buffers
      rt::DeviceBuffer o2(bytes), lse2(size_t(shape.rows()) * 4);
      o2.upload(poison.data(), bytes);
      unpaired->forward(view(q_), view(k_), view(v_), view(o2), lse2.ptr(), stream, nullptr, docs);
      stream.synchronize();
      std::vector<float> l1(size_t(shape.rows())), l2(l1.size());
      lse_.download(l1.data(), l1.size() * 4);
      lse2.download(l2.data(), l2.size() * 4);
      if (bitsOf(o2) != bitsOf(o_) || std::memcmp(l1.data(), l2.data(), l1.size() * 4) != 0) {
        out.detail += "o or lse differs from the forward without query-tile pairs; ";
        return out;
      }
      out.detail += "o, lse bit-identical to unpaired; ";
    }
    if (unpairedKeys) { // the backward without key-tile pairs, into fresh buffers
      rt::DeviceBuffer dq2(bytes), dk2(bytes), dv2(bytes);
      for (rt::DeviceBuffer *b : {&dq2, &dk2, &dv2})
        b->upload(poison.data(), bytes);
      unpairedKeys->backward(view(q_), view(k_), view(v_), view(o_), lse_.ptr(), view(do_),
                             view(dq2), view(dk2), view(dv2), stream, nullptr, docs);
      stream.synchronize();
      const char *names[] = {"dq", "dk", "dv"};
      const rt::DeviceBuffer *paired[] = {&dq_, &dk_, &dv_}, *plain[] = {&dq2, &dk2, &dv2};
      for (int n = 0; n < 3; ++n)
        if (bitsOf(*paired[n]) != bitsOf(*plain[n])) {
          out.detail +=
              std::string(names[n]) + " differs from the backward without key-tile pairs; ";
          return out;
        }
      out.detail += "dq, dk, dv bit-identical to unpaired keys; ";
    }
    auto download = [&](const rt::DeviceBuffer &b) { return fromBits(bitsOf(b), c.dtype); };
    o = download(o_);
    dq = download(dq_);
    dk = download(dk_);
    dv = download(dv_);
    lse.resize(size_t(shape.rows()));
    lse_.download(lse.data(), lse.size() * 4);
  }

  LowPrecision lp = c.dtype == ElementType::BF16 ? LowPrecision::BF16 : LowPrecision::FP16;
  AttentionOutput ref, low;
  AttentionGrads gref, glow;
  if (c.cuSeqlens.empty()) {
    const RowKeys keys = RowKeys::fromPattern(pattern); // causal or bidirectional
    ref = referenceForward(keys, shape, q, k, v, scale);
    low = lowPrecisionForward(keys, shape, q, k, v, scale, lp);
    gref = referenceBackward(keys, shape, q, k, v, dout, scale);
    glow = lowPrecisionBackward(keys, shape, q, k, v, dout, scale, lp);
  } else { // the pattern per document, at positions counted from its start
    const std::vector<int32_t> &cu = c.cuSeqlens;
    ref = referenceForward(pattern, cu, c.B, c.H, c.d, q, k, v, scale);
    low = lowPrecisionForward(pattern, cu, c.B, c.H, c.d, q, k, v, scale, lp);
    gref = referenceBackward(pattern, cu, c.B, c.H, c.d, q, k, v, dout, scale);
    glow = lowPrecisionBackward(pattern, cu, c.B, c.H, c.d, q, k, v, dout, scale, lp);
  }
  bool ok = within("o", o, ref.o, low.o, out.detail);
  // fp32 rounding of dP - D (d products of magnitude |dO| |V|), carried into
  // dQ = scale dS K and dK = scale dS^T Q over at most T keys or queries.
  const double eps32 = std::ldexp(1.0, -24);
  const double cancel = eps32 * c.d * maxAbs(dout) * maxAbs(v) * scale * double(T);
  ok &= within("dq", dq, gref.dq, glow.dq, out.detail, cancel * maxAbs(k));
  ok &= within("dk", dk, gref.dk, glow.dk, out.detail, cancel * maxAbs(q));
  ok &= within("dv", dv, gref.dv, glow.dv, out.detail);
  double lseErr = 0;
  for (size_t r = 0; r < lse.size(); ++r) {
    if (std::isinf(ref.lse[r]) != std::isinf(lse[r]) || std::isnan(lse[r])) {
      ok = false;
      out.detail += "lse: row " + std::to_string(r) + " empty-row mismatch; ";
      break;
    }
    if (!std::isinf(ref.lse[r]))
      lseErr = std::max(lseErr, std::fabs(double(lse[r]) - ref.lse[r]));
  }
  ok &= lseErr <= 1e-3;
  out.detail += "lse err " + std::to_string(lseErr);
  out.passed = ok;
  return out;
}

/// SPARTA_GPU_TEST_REDUCED=1: one small ragged case per pattern, for runs
/// under compute-sanitizer (memcheck, racecheck), which are slow.
bool reduced() {
  const char *flag = std::getenv("SPARTA_GPU_TEST_REDUCED");
  return flag && *flag && std::string(flag) != "0";
}

std::vector<Case> casesFor(const std::string &name) {
  std::vector<Case> cases;
  const std::string file = "patterns/" + name;
  if (reduced()) {
    cases.push_back(Case{file, {{"T", 200}, {"L", 16}}, ElementType::BF16, 64, 1, 3});
    if (name.rfind("fixed", 0) == 0)
      cases.back().params["c"] = 4;
    if (name.rfind("image", 0) == 0) {
      cases.back().params["H"] = 10;
      cases.back().params["W"] = 20;
    }
    return cases;
  }
  for (ElementType t : {ElementType::BF16, ElementType::FP16})
    for (int d : {32, 64, 128})
      cases.push_back(Case{file, {{"T", 1000}, {"L", 32}}, t, d});
  cases.push_back(Case{file, {{"T", 4096}, {"L", 64}}, ElementType::BF16, 64});
  if (name.rfind("fixed", 0) == 0)
    for (Case &c : cases)
      c.params["c"] = c.params["L"] / 4;
  if (name.rfind("image", 0) == 0) // an H x W grid of T positions (T = 4096: the default 64 x 64)
    for (Case &c : cases)
      if (c.params["T"] == 1000) {
        c.params["H"] = 25;
        c.params["W"] = 40;
      }
  return cases;
}

void runCases(const std::vector<Case> &cases) {
  std::vector<std::future<Outcome>> results;
  for (const Case &c : cases)
    results.push_back(std::async(std::launch::async, runCase, c));
  for (auto &r : results) {
    Outcome o = r.get();
    std::printf("[ case ] %s: %s %s\n", o.label.c_str(), o.passed ? "ok" : "FAILED", o.detail.c_str());
    EXPECT_TRUE(o.passed) << o.label << ": " << o.detail;
  }
}

class PatternOnGpu : public ::testing::TestWithParam<std::string> {};
TEST_P(PatternOnGpu, ForwardAndBackwardMatchReference) { runCases(casesFor(GetParam())); }
INSTANTIATE_TEST_SUITE_P(Patterns, PatternOnGpu,
                         ::testing::Values("strided.mlir", "strided_merged.mlir", "fixed.mlir",
                                           "fixed_merged.mlir", "dense.mlir", "local.mlir",
                                           "longformer.mlir", "bigbird.mlir",
                                           // bidirectional patterns and grid ops
                                           "longformer_bidir.mlir", "bigbird_bidir.mlir",
                                           "image_axial.mlir", "image_window.mlir"),
                         [](const auto &info) {
                           std::string name = info.param.substr(0, info.param.find('.'));
                           return name;
                         });

// Corpus entries, one per lowering the pattern files do not reach at their
// test points (the plans are checked on the CPU by PlanCorpusTest).
TEST(CorpusOnGpu, ForwardAndBackwardMatchReference) {
  const ElementType bf16 = ElementType::BF16;
  const std::string C = "tests/plan-corpus/";
  std::vector<Case> cases = {
      {"patterns/strided.mlir", {{"T", 784}, {"L", 28}}, bf16, 64},      // packed strided
      {"patterns/fixed.mlir", {{"T", 784}, {"L", 28}, {"c", 8}}, ElementType::FP16, 64},
      {"patterns/fixed_merged.mlir", {{"T", 784}, {"L", 28}, {"c", 4}}, bf16, 32},
      {C + "dilated.mlir", {{"T", 4096}, {"L", 64}}, bf16, 64},          // stride ∩ band
      {C + "axial.mlir", {{"T", 1024}, {"L", 32}}, bf16, 128},           // packed chunks
      {C + "band_stride_global.mlir", {{"T", 1024}, {"L", 32}}, bf16, 64}, // skip period
      {C + "local_dilated.mlir", {{"T", 4096}, {"L", 64}, {"D", 2}}, bf16, 64}, // one table
      // Strides with an offset (rotated key maps), bidirectional bands cut out of a
      // stride (two components), forward-only bands and bidirectional primitives.
      {C + "stride_offset.mlir", {{"T", 1000}, {"L", 30}, {"k", 7}}, bf16, 64},
      {C + "stride_offset.mlir", {{"T", 4096}, {"L", 64}}, ElementType::FP16, 64},
      {C + "bidir_strided.mlir", {{"T", 1000}, {"L", 30}}, bf16, 64},
      {C + "bidir_strided.mlir", {{"T", 4096}, {"L", 64}}, bf16, 128},
      {C + "bidir_offsets.mlir", {{"T", 1000}, {"L", 30}}, bf16, 64},
      {C + "bidir_offsets.mlir", {{"T", 3072}, {"L", 64}}, ElementType::FP16, 32},
  };
  runCases(cases);
}

// Grid windows on rows of whole tiles: the own row's band and the grid box of
// the other rows (tiling.h), bidirectional with the rows united
// (image_window) and causal alone (the own row a component of its own),
// each dtype and head dim, tiles forced to 16 and 32, a window wider than
// the grid (dw > W, clipped), the fused dQ path, and reruns that must give
// the same bits.
TEST(GridBoxes, ForwardAndBackwardMatchReference) {
  const ElementType bf16 = ElementType::BF16, fp16 = ElementType::FP16;
  const std::string window = "patterns/image_window.mlir";
  const std::string causal = "tests/plan-corpus/grid_window_causal.mlir";
  std::vector<Case> cases;
  if (reduced()) {
    cases = {{window, {{"T", 512}, {"L", 32}, {"H", 16}, {"W", 32}}, bf16, 64, 1, 2},
             {causal, {{"T", 512}, {"L", 32}, {"H", 16}, {"W", 32}}, fp16, 64, 1, 2}};
  } else {
    cases = {
        {window, {{"T", 3072}, {"L", 64}, {"H", 48}, {"W", 64}}, fp16, 128},
        {window, {{"T", 1024}, {"L", 32}}, bf16, 32, 2, 3, 0, true},
        {window, {{"T", 1024}, {"L", 32}}, fp16, 64, 2, 3, 16},
        {causal, {{"T", 1024}, {"L", 32}}, bf16, 64, 2, 3, 0, true},
        {causal, {{"T", 4096}, {"L", 64}}, fp16, 32},
        {causal, {{"T", 768}, {"L", 32}, {"H", 24}, {"W", 32}, {"dh", 3}, {"dw", 40}}, bf16, 128,
         1, 2, 32},
    };
    Case fused{window, {{"T", 1024}, {"L", 32}}, bf16, 64, 2, 3, 0, true};
    fused.fuseDq = true;
    cases.push_back(fused);
  }
  runCases(cases);
}

// Every pattern file with each tile edge the kernels offer below 64 (the
// planner's choice is 64 for most of PatternOnGpu's cases): ragged T, every
// head dim, both dtypes, and a rerun that must give the same bits.
TEST(TileShapes, EveryTileMatchesReferenceAndRerunsBitIdentically) {
  std::vector<Case> cases;
  for (const char *name : {"strided.mlir", "strided_merged.mlir", "fixed.mlir", "fixed_merged.mlir",
                           "dense.mlir", "local.mlir", "longformer.mlir", "bigbird.mlir"})
    for (int tile : {32, 16}) {
      const std::string file = std::string("patterns/") + name;
      cases.push_back(Case{file, {{"T", 1000}, {"L", 28}}, ElementType::BF16, 64, 2, 3, tile, true});
      cases.push_back(Case{file, {{"T", 300}, {"L", 20}}, ElementType::FP16, 128, 1, 2, tile});
      cases.push_back(Case{file, {{"T", 777}, {"L", 40}}, ElementType::BF16, 32, 2, 3, tile});
      if (reduced())
        cases.resize(cases.size() - 2);
    }
  for (Case &c : cases)
    if (c.file.find("fixed") != std::string::npos)
      c.params["c"] = c.params["L"] / 4;
  runCases(cases);
}

// Every file in patterns/, for the suites that run them all with one option
// forced.
const char *const kPatternFiles[] = {
    "strided.mlir",     "strided_merged.mlir",   "fixed.mlir",         "fixed_merged.mlir",
    "dense.mlir",       "local.mlir",            "longformer.mlir",    "bigbird.mlir",
    "longformer_bidir.mlir", "bigbird_bidir.mlir", "image_axial.mlir", "image_window.mlir"};

/// The other parameters of a case's pattern from its T and L: the fixed
/// patterns' summary width c = L / 4, the image patterns' grid H x W of T
/// positions (T = 200, 777, 1000 or 4096).
void fitPatternParams(Case &c) {
  if (c.file.find("fixed") != std::string::npos)
    c.params["c"] = c.params["L"] / 4;
  if (c.file.find("image") != std::string::npos) {
    const int64_t T = c.params["T"];
    c.params["H"] = T == 200 ? 10 : T == 777 ? 21 : T == 1000 ? 25 : 64;
    c.params["W"] = T == 200 ? 20 : T == 777 ? 37 : T == 1000 ? 40 : 64;
  }
}

// The forward over query-tile pairs (attention_fwd_pairs.cuh) forced on for
// every 64-row component of every pattern file, also where the planner's
// tiles are smaller (those components keep the unpaired kernel): ragged T,
// every head dim, both dtypes, groups with an odd number of tiles, empty
// heads, T = 1. Each warpgroup computes its tile exactly as the unpaired
// kernel does, so O and lse must be bit-identical to it; the backward is
// unchanged and checked against the reference as everywhere.
TEST(QueryPairs, PairedForwardMatchesReferenceAndUnpairedBits) {
  const ElementType bf16 = ElementType::BF16, fp16 = ElementType::FP16;
  std::vector<Case> cases;
  for (const char *name : kPatternFiles) {
    const std::string file = std::string("patterns/") + name;
    if (reduced()) {
      cases.push_back(Case{file, {{"T", 200}, {"L", 16}}, bf16, 64, 1, 3});
    } else {
      cases.push_back(Case{file, {{"T", 1000}, {"L", 32}}, bf16, 64, 2, 3, 64, true});
      cases.push_back(Case{file, {{"T", 1000}, {"L", 32}}, fp16, 128, 1, 2, 64});
      cases.push_back(Case{file, {{"T", 777}, {"L", 40}}, bf16, 32, 2, 3, 64});
      cases.push_back(Case{file, {{"T", 4096}, {"L", 64}}, bf16, 64, 1, 2});
    }
  }
  for (Case &c : cases)
    fitPatternParams(c);
  cases.push_back(Case{"patterns/fixed.mlir", {{"T", 129}, {"L", 200}, {"c", 8}}, bf16, 64});
  cases.push_back(Case{"patterns/strided.mlir", {{"T", 1}, {"L", 1}}, bf16, 64});
  for (Case &c : cases) {
    c.queryPairs = TilePairs::On;
    c.sameAsUnpaired = true;
  }
  runCases(cases);
}

// The dK/dV pass over key-tile pairs (attention_bwd_dkdv's KT = 2: d = 128,
// sm_90a) forced on for every 64-row component of every pattern file: ragged
// T, both dtypes, groups with an odd number of key tiles, empty heads, T = 1.
// Each warpgroup computes its key tile exactly as the unpaired kernel does,
// so without FUSE_DQ dQ, dK and dV must be bit-identical to it; with
// FUSE_DQ (dQ summed over the pair's keys before it is added) they are
// checked against the reference, and a rerun must give the same bits.
TEST(KeyPairs, PairedDkdvMatchesReferenceAndUnpairedBits) {
  if (!rt::archHasWgmma(rt::Context::get().device().arch()))
    GTEST_SKIP() << "key-tile pairs need wgmma (sm_90a)";
  const ElementType bf16 = ElementType::BF16, fp16 = ElementType::FP16;
  std::vector<Case> cases;
  for (const char *name : kPatternFiles) {
    const std::string file = std::string("patterns/") + name;
    if (reduced()) {
      cases.push_back(Case{file, {{"T", 200}, {"L", 16}}, bf16, 128, 1, 3});
    } else {
      cases.push_back(Case{file, {{"T", 1000}, {"L", 32}}, bf16, 128, 2, 3, 64});
      cases.push_back(Case{file, {{"T", 777}, {"L", 40}}, fp16, 128, 1, 3, 64});
    }
  }
  for (Case &c : cases)
    fitPatternParams(c);
  cases.push_back(Case{"patterns/fixed.mlir", {{"T", 129}, {"L", 200}, {"c", 8}}, bf16, 128});
  cases.push_back(Case{"patterns/strided.mlir", {{"T", 1}, {"L", 1}}, bf16, 128});
  cases.push_back(Case{"patterns/dense.mlir", {{"T", 4096}, {"L", 64}}, bf16, 128});
  const size_t plain = cases.size();
  for (size_t n = 0; n < plain; ++n) { // the same with the fused dQ
    cases.push_back(cases[n]);
    cases.back().fuseDq = true;
    cases.back().rerun = true;
  }
  for (Case &c : cases) {
    c.keyPairs = TilePairs::On;
    c.gradsAsUnpairedKeys = !c.fuseDq;
  }
  runCases(cases);
}

// Masks with no pair, alone or next to others: fixed's summary head at
// L > T (no chunk reaches its summary cells) and at c = 0, T = 1. The output
// rows are written as O = 0 with lse = -inf and the gradients as zero
// (runCase poisons every output first).
TEST(EmptyHeads, RunAndGiveZero) {
  const ElementType bf16 = ElementType::BF16;
  std::vector<Case> cases = {
      {"patterns/fixed.mlir", {{"T", 129}, {"L", 200}, {"c", 8}}, bf16, 64},
      {"patterns/fixed.mlir", {{"T", 256}, {"L", 32}, {"c", 0}}, bf16, 64},
      {"patterns/fixed_merged.mlir", {{"T", 129}, {"L", 200}, {"c", 8}}, bf16, 64},
      {"patterns/strided.mlir", {{"T", 1}, {"L", 1}}, bf16, 64},
      {"patterns/strided.mlir", {{"T", 50}, {"L", 64}}, bf16, 64},
  };
  runCases(cases);
}

// Packed documents (SparseAttention.h, Documents): ragged lengths, documents
// shorter than a tile (and than 16), empty ones (a row that starts or ends
// with them), against the pattern per document; every head dim and dtype,
// each tile edge, the fused dQ path; a rerun gives the same bits, and one
// document per row the bits of a call without documents.
TEST(Documents, MatchThePerDocumentReference) {
  const ElementType bf16 = ElementType::BF16, fp16 = ElementType::FP16;
  const std::string P = "patterns/", C = "tests/plan-corpus/";
  std::vector<Case> cases = {
      {P + "strided.mlir", {{"T", 1000}, {"L", 32}}, bf16, 64, 2, 3, 0, true,
       {0, 5, 5, 37, 300, 301, 1000, 0, 0, 0, 0, 0, 500, 1000}},
      {P + "strided.mlir", {{"T", 1000}, {"L", 32}}, fp16, 32, 2, 3, 16, false,
       {0, 3, 40, 41, 1000, 0, 999, 1000, 1000, 1000}},
      {P + "strided_merged.mlir", {{"T", 1000}, {"L", 32}}, fp16, 64, 2, 3, 16, true,
       {0, 7, 8, 600, 1000, 0, 1000, 1000, 1000, 1000}},
      {P + "fixed.mlir", {{"T", 1000}, {"L", 32}, {"c", 8}}, fp16, 128, 2, 3, 0, false,
       {0, 32, 32, 96, 480, 992, 1000, 0, 64, 128, 512, 512, 1000, 1000}},
      {P + "fixed_merged.mlir", {{"T", 777}, {"L", 16}, {"c", 4}}, bf16, 64, 2, 3, 32, false,
       {0, 16, 48, 400, 777, 0, 0, 160, 176, 777}},
      {P + "local.mlir", {{"T", 777}, {"L", 40}}, bf16, 32, 2, 3, 0, false,
       {0, 1, 17, 200, 201, 700, 777, 0, 15, 15, 16, 400, 777, 777}},
      {P + "dense.mlir", {{"T", 1000}, {"L", 32}}, bf16, 128, 1, 2, 0, false,
       {0, 10, 100, 101, 640, 1000}},
      // Bidirectional bands, a rotated stride, a chunk and a summary: period 30.
      {C + "bidir_offsets.mlir", {{"T", 1000}, {"L", 30}}, bf16, 64, 2, 5, 0, false,
       {0, 30, 30, 90, 480, 990, 1000, 0, 300, 330, 360, 360, 960, 1000}},
      // One document per row: the bits of the call without documents.
      {P + "strided.mlir", {{"T", 1000}, {"L", 32}}, bf16, 64, 2, 3, 0, false,
       {0, 1000, 0, 1000}},
      {P + "fixed.mlir", {{"T", 1000}, {"L", 32}, {"c", 8}}, fp16, 128, 2, 3, 16, false,
       {0, 1000, 1000, 0, 0, 1000}},
  };
  cases[8].sameAsUnpacked = cases[9].sameAsUnpacked = true;
  // The fused dQ (sm_90a): no pair is passed over, the counters' order holds.
  Case fused{P + "strided.mlir", {{"T", 1024}, {"L", 64}}, bf16, 64, 2, 3, 0, true,
             {0, 70, 70, 512, 513, 1024, 0, 1024, 1024, 1024, 1024, 1024}};
  fused.fuseDq = true;
  cases.push_back(fused);
  runCases(cases);
}

TEST(Documents, BadBoundariesAndPatternsWithoutAPeriodAreRefused) {
  auto refusal = [](const std::string &file, ParamBindings params,
                    const std::vector<int32_t> &cu) {
    ConcretePattern pattern = loadPattern(sourcePath(file), params);
    SparseAttention attention(pattern, AttentionConfig{});
    const int64_t T = pattern.T;
    rt::DeviceBuffer buf(size_t(2) * T * 64 * 2), lse(2 * T * 4), cu_(cu.size() * 4);
    cu_.upload(cu.data(), cu.size() * 4);
    rt::Stream stream;
    const TensorView t = TensorView::bhtd(buf.ptr(), 1, 2, T, 64);
    const Documents docs{cu_.ptr(), int64_t(cu.size()) - 1};
    try {
      attention.forward(t, t, t, t, lse.ptr(), stream, nullptr, &docs);
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(refusal("patterns/longformer.mlir", {{"T", 256}, {"L", 16}}, {0, 128, 256}),
            "pattern 'longformer' cannot pack documents: mask 0 (union(band(0, 16), "
            "global_keys(1), global_queries(1))) is tied to absolute positions (it has no "
            "translation period)");
  EXPECT_EQ(refusal("patterns/fixed.mlir", {{"T", 256}, {"L", 32}}, {0, 40, 256}),
            "cu_seqlens row 0: a document starts at offset 40, not a multiple of the pattern's "
            "period 32");
  EXPECT_EQ(refusal("patterns/strided.mlir", {{"T", 256}, {"L", 16}}, {0, 300, 256}),
            "cu_seqlens row 0: boundary 300 at index 1 is past T = 256");
}

TEST(SparseAttentionApi, RejectsShapesThatDoNotFit) {
  ConcretePattern pattern =
      loadPattern(sourcePath("patterns/strided.mlir"), {{"T", 256}, {"L", 16}});
  SparseAttention attention(pattern, AttentionConfig{});
  rt::DeviceBuffer buf(size_t(2) * 2 * 512 * 64 * 2), lse(2 * 2 * 512 * 4);
  rt::Stream stream;
  TensorView wrongT = TensorView::bhtd(buf.ptr(), 2, 2, 512, 64);
  EXPECT_THROW(attention.forward(wrongT, wrongT, wrongT, wrongT, lse.ptr(), stream), Error);
  TensorView wrongD = TensorView::bhtd(buf.ptr(), 2, 2, 256, 32);
  EXPECT_THROW(attention.forward(wrongD, wrongD, wrongD, wrongD, lse.ptr(), stream), Error);
}

} // namespace
} // namespace sparta

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
