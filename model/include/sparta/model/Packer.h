//===- Packer.h - Batch rows packed with whole documents -------------------===//
//
// With packing (sparta-train --pack) a row of T+1 bytes holds whole
// documents one after another instead of a window of the text, and the
// attention keeps every query inside its document (sparta/Packing.h):
//
//  * Pieces. A document of L bytes, 2 <= L <= T+1, is one piece; a longer one
//    is cut into the pieces [kT, min(kT + T + 1, L)), k = 0, 1, ..., which
//    share one byte, so every byte after the document's first is predicted
//    exactly once (as in EvalBatches' windows). A document of one byte
//    predicts nothing and is left out. Each piece is a document of its own.
//  * A row. Pieces i, i+1, ... are placed one after another, each starting
//    at a multiple of the pattern's translation period p, as long as the next
//    one fits in the T+1 bytes (the first always does); the bytes between a
//    piece's end and the next multiple of p, and the rest of the row, are
//    kPadByte.
//  * Its documents, over the T input positions: piece n owns the positions
//    from its start to the next piece's start (its padding included; the
//    model is causal, so no byte of a piece sees its padding), the last one
//    up to T. A batch has N documents per row, N the most any of its rows
//    holds; a row with fewer ends with empty documents (cu = T repeated).
//  * Its targets. Input t's target (byte t+1) counts iff bytes t and t+1
//    are of one piece: the padding and each piece's last byte, whose next
//    byte is another document's or padding, predict nothing.
//
// BatchSampler and EvalBatches (Data.h) pack their rows with this when given
// a period: training rows start at a random piece (each row drawn
// independently, wrapping from the last piece to the first), evaluation rows
// cover the split's pieces in order, each once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/Data.h"

#include <cstdint>
#include <vector>

namespace sparta::model {

/// The byte of the positions no document holds.
inline constexpr uint8_t kPadByte = 0;

class DocumentPacker {
public:
  /// The pieces of the documents of `data`'s split for rows of T = seqLen
  /// inputs and documents starting at multiples of `period`. Throws
  /// sparta::Error when the data has no documents (text loaded without them,
  /// images) or the split no document of two bytes or more.
  DocumentPacker(const Dataset &data, Split split, int64_t seqLen, int64_t period);

  int64_t pieces() const { return int64_t(pieces_.size()); }
  /// Piece i: bytes of the split.
  const DocumentRange &piece(int64_t i) const { return pieces_[size_t(i)]; }

  /// A row that starts at piece `first`: the piece after its last one
  /// (after the split's last piece: 0 when `wrap`, else pieces()) and the
  /// number of its targets that count.
  struct RowExtent {
    int64_t next = 0, targets = 0;
  };
  RowExtent extent(int64_t first, bool wrap) const;

  /// Fills `out` with one row per entry of `firsts` (the piece it starts at):
  /// tokens, documents, cuSeqlens, counted and targets.
  void fill(const std::vector<int64_t> &firsts, bool wrap, Batch &out) const;

private:
  /// Places the row's pieces, calling visit(piece, start) for each.
  template <typename Visit> RowExtent place(int64_t first, bool wrap, Visit &&visit) const;

  const std::vector<uint8_t> &bytes_;
  int64_t seqLen_, period_;
  std::vector<DocumentRange> pieces_;
};

} // namespace sparta::model
