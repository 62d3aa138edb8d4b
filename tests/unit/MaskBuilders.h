//===- MaskBuilders.h - Hand-built masks and patterns for the unit tests --===//
//
// One definition of the small builders the unit tests write masks with
// (band(0, L), unite({chunk(L), summary(L, c)}), ...) and of a pattern made
// from such masks, so that a test states its masks in the notation of the
// pattern files without going through the front end. Each builder sets the
// kind and its own fields of sparta::Mask and leaves the rest at their
// defaults. Used by MaskSemanticsTest.cpp, ValidityTest.cpp, CostTest.cpp,
// FrontendTest.cpp and, through PatternCases.h, the plan tests.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sparta::testing {

/// A mask of `kind` with every field at its default (dense, empty, or the
/// start of any other kind).
inline Mask leaf(MaskKind kind) {
  Mask m;
  m.kind = kind;
  return m;
}
inline Mask band(int64_t lo, int64_t hi) {
  Mask m = leaf(MaskKind::Band);
  m.lo = lo;
  m.hi = hi;
  return m;
}
inline Mask stride(int64_t period) {
  Mask m = leaf(MaskKind::Stride);
  m.period = period;
  return m;
}
/// (i - j) mod period == offset.
inline Mask stride(int64_t period, int64_t offset) {
  Mask m = stride(period);
  m.offset = offset;
  return m;
}
/// The row-major grid of rows of W: |drow| <= dh, |dcol| <= dw.
inline Mask gridWindow(int64_t W, int64_t dh, int64_t dw) {
  Mask m = leaf(MaskKind::GridWindow);
  m.period = W;
  m.dh = dh;
  m.dw = dw;
  return m;
}
inline Mask chunk(int64_t size) {
  Mask m = leaf(MaskKind::Chunk);
  m.size = size;
  return m;
}
inline Mask summary(int64_t period, int64_t width) {
  Mask m = leaf(MaskKind::Summary);
  m.period = period;
  m.width = width;
  return m;
}
inline Mask globalKeys(int64_t count) {
  Mask m = leaf(MaskKind::GlobalKeys);
  m.count = count;
  return m;
}
inline Mask globalQueries(int64_t count) {
  Mask m = leaf(MaskKind::GlobalQueries);
  m.count = count;
  return m;
}
inline Mask randomBlocks(int64_t block, int64_t count, uint64_t seed) {
  Mask m = leaf(MaskKind::RandomBlocks);
  m.block = block;
  m.count = count;
  m.seed = seed;
  return m;
}
inline Mask unite(std::vector<Mask> operands) {
  Mask m = leaf(MaskKind::Union);
  m.operands = std::move(operands);
  return m;
}
inline Mask intersect(std::vector<Mask> operands) {
  Mask m = leaf(MaskKind::Intersect);
  m.operands = std::move(operands);
  return m;
}

/// A pattern called `name` over T positions with these heads; T is its only
/// parameter.
inline ConcretePattern makePattern(const std::string &name, int64_t T, std::vector<Mask> heads) {
  ConcretePattern p;
  p.name = name;
  p.T = T;
  p.heads = std::move(heads);
  return p;
}

/// A bidirectional pattern (no j <= i).
inline ConcretePattern makeBidirectional(const std::string &name, int64_t T,
                                         std::vector<Mask> heads) {
  ConcretePattern p = makePattern(name, T, std::move(heads));
  p.causal = false;
  return p;
}

/// makePattern with the name last and "test" by default.
inline ConcretePattern pattern(int64_t T, std::vector<Mask> heads,
                               const std::string &name = "test") {
  return makePattern(name, T, std::move(heads));
}

} // namespace sparta::testing
