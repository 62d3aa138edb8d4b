//===- Pattern.cpp - Equality and printing of MLIR-free masks --------------===//
//
// Mask equality compares only the fields that belong to the node's kind (the
// others are meaningless leftovers), so tests can compare trees built by hand
// with the front end's output.
//
//===----------------------------------------------------------------------===//
#include "sparta/Pattern.h"

#include <sstream>

namespace sparta {

bool Mask::operator==(const Mask &other) const {
  if (kind != other.kind)
    return false;
  switch (kind) {
  case MaskKind::Dense:
  case MaskKind::Empty:
    return true;
  case MaskKind::Band:
    return lo == other.lo && hi == other.hi;
  case MaskKind::Stride:
    return period == other.period && offset == other.offset;
  case MaskKind::Chunk:
    return size == other.size;
  case MaskKind::Summary:
    return period == other.period && width == other.width;
  case MaskKind::GlobalKeys:
  case MaskKind::GlobalQueries:
    return count == other.count;
  case MaskKind::RandomBlocks:
    return block == other.block && count == other.count && seed == other.seed;
  case MaskKind::Union:
  case MaskKind::Intersect:
    return operands == other.operands;
  case MaskKind::GridWindow:
    return period == other.period && dh == other.dh && dw == other.dw;
  }
  return false;
}

static void print(std::ostringstream &os, const Mask &m) {
  switch (m.kind) {
  case MaskKind::Dense:
    os << "dense";
    return;
  case MaskKind::Empty:
    os << "empty";
    return;
  case MaskKind::Band:
    os << "band(" << m.lo << ", " << m.hi << ")";
    return;
  case MaskKind::Stride:
    os << "stride(" << m.period;
    if (m.offset != 0)
      os << ", " << m.offset;
    os << ")";
    return;
  case MaskKind::Chunk:
    os << "chunk(" << m.size << ")";
    return;
  case MaskKind::Summary:
    os << "summary(" << m.period << ", " << m.width << ")";
    return;
  case MaskKind::GlobalKeys:
    os << "global_keys(" << m.count << ")";
    return;
  case MaskKind::GlobalQueries:
    os << "global_queries(" << m.count << ")";
    return;
  case MaskKind::RandomBlocks:
    os << "random_blocks(" << m.block << ", " << m.count << ", " << m.seed << ")";
    return;
  case MaskKind::GridWindow:
    os << "grid_window(" << m.period << ", " << m.dh << ", " << m.dw << ")";
    return;
  case MaskKind::Union:
  case MaskKind::Intersect:
    os << (m.kind == MaskKind::Union ? "union(" : "intersect(");
    for (size_t k = 0; k < m.operands.size(); ++k) {
      if (k)
        os << ", ";
      print(os, m.operands[k]);
    }
    os << ")";
    return;
  }
  os << "?";
}

std::string toString(const Mask &mask) {
  std::ostringstream os;
  print(os, mask);
  return os.str();
}

} // namespace sparta
