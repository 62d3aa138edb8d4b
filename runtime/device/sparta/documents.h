//===- documents.h - Packed documents: how a tile pair runs (host + device) -===//
//
// With packed documents (AttnFwdParams::doc_ids, AttnBwdParams::doc_ids), a
// query sees a key only if the schedule allows the pair and both rows lie in
// one document. Document ids ascend with the token row, so the documents of
// a tile's rows are those between the documents of its least and greatest
// rows (Schedule::q_rows / k_rows, schedule.cuh). One rule, shared by the
// kernels and the CPU executor, decides per listed tile pair:
//
//   the tiles' document spans do not meet   skip the pair (no products)
//   both tiles lie in one same document     the schedule's `full` flag holds
//   otherwise                               partial: the mask code runs,
//                                           with the document test per element
//
//===----------------------------------------------------------------------===//
#ifndef SPARTA_DOCUMENTS_H
#define SPARTA_DOCUMENTS_H

#include "sparta/params.h"

namespace sparta {
namespace documents {

/// The documents of a tile's rows: first (of its least row) .. last.
struct Span {
  int first, last;
};

/// pairFull's answer for a pair to skip (an enumerator: no device global).
enum : int { kSkip = -1 };

/// The span of a listed tile that holds no position of its group (a ragged
/// group's end): it meets no other span, so the pair is skipped.
SPARTA_HD constexpr Span noRows() { return Span{1 << 30, -1}; }

/// How a listed pair with the schedule's flag `full` runs: kSkip, or the
/// full flag to use (kept only when both tiles lie in one document).
SPARTA_HD constexpr int pairFull(Span a, Span b, int full) {
  return a.last < b.first || b.last < a.first ? kSkip
         : a.first == a.last && b.first == b.last ? full
                                                  : 0;
}

} // namespace documents
} // namespace sparta

#endif // SPARTA_DOCUMENTS_H
