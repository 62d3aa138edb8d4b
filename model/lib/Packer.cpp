//===- Packer.cpp - Batch rows packed with whole documents -----------------===//
//
// The rules are Packer.h's. A row is laid out twice by the same code
// (place): once without copying, to count an evaluation pass's rows and
// targets up front, and once to fill the batch.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Packer.h"

#include "sparta/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace sparta::model {

DocumentPacker::DocumentPacker(const Dataset &data, Split split, int64_t seqLen, int64_t period)
    : bytes_(data.split(split)), seqLen_(seqLen), period_(period) {
  if (seqLen < 1 || period < 1)
    throw Error(fmt::format("packed rows need T >= 1 and a period >= 1 (got T = {}, period {})",
                            seqLen, period));
  if (data.kind != DataKind::Text || !data.hasDocuments)
    throw Error(fmt::format("{} has no documents to pack: packed rows need text with documents "
                            "(gcide, whose dictd index gives one per entry)",
                            data.name));
  for (const DocumentRange &doc : data.documents(split))
    for (int64_t k = 0; k * seqLen < doc.length - 1; ++k)
      pieces_.push_back({doc.begin + k * seqLen, std::min(seqLen + 1, doc.length - k * seqLen)});
  if (pieces_.empty())
    throw Error(fmt::format("the {} split of {} holds no document of two bytes or more to pack",
                            splitName(split), data.name));
}

template <typename Visit>
DocumentPacker::RowExtent DocumentPacker::place(int64_t first, bool wrap, Visit &&visit) const {
  RowExtent row{first, 0};
  int64_t start = 0;
  // A piece has at least two bytes, so none fits once start reaches T.
  while (start < seqLen_ && row.next < pieces()) {
    const DocumentRange &p = piece(row.next);
    if (start + p.length > seqLen_ + 1) break;
    visit(p, start);
    row.targets += p.length - 1;
    start = (start + p.length + period_ - 1) / period_ * period_;
    if (++row.next == pieces() && wrap) row.next = 0;
  }
  return row;
}

DocumentPacker::RowExtent DocumentPacker::extent(int64_t first, bool wrap) const {
  return place(first, wrap, [](const DocumentRange &, int64_t) {});
}

void DocumentPacker::fill(const std::vector<int64_t> &firsts, bool wrap, Batch &out) const {
  const int64_t rows = int64_t(firsts.size()), T = seqLen_;
  out.rows = rows;
  out.seqLen = T;
  out.tokens.assign(size_t(rows * (T + 1)), kPadByte);
  out.counted.assign(size_t(rows * T), 0);
  out.targets = 0;
  std::vector<std::vector<int32_t>> starts(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t *tokens = out.tokens.data() + r * (T + 1), *counted = out.counted.data() + r * T;
    out.targets += place(firsts[size_t(r)], wrap, [&](const DocumentRange &p, int64_t start) {
                     std::memcpy(tokens + start, bytes_.data() + p.begin, size_t(p.length));
                     std::fill(counted + start, counted + start + p.length - 1, uint8_t(1));
                     starts[size_t(r)].push_back(int32_t(start));
                   }).targets;
  }
  size_t documents = 0;
  for (const auto &s : starts) documents = std::max(documents, s.size());
  out.documents = int64_t(documents);
  out.cuSeqlens.clear();
  for (const auto &s : starts) {
    out.cuSeqlens.insert(out.cuSeqlens.end(), s.begin(), s.end());
    out.cuSeqlens.insert(out.cuSeqlens.end(), documents + 1 - s.size(), int32_t(T));
  }
}

} // namespace sparta::model
