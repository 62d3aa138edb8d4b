//===- PackerTest.cpp - Batch rows packed with whole documents ------------===//
//
// DocumentPacker, and BatchSampler / EvalBatches given a period, against the
// rules of Packer.h: pieces of long documents, every document at a multiple
// of the period, valid cu_seqlens (checked by sparta::documentIds, the check
// the attention itself makes), the targets that count exactly the bytes
// followed by a byte of the same piece, rows as full as the next piece
// allows, determinism and replay from the sampler's state, and an evaluation
// pass that holds every piece once. The text's bytes are never kPadByte, so
// padding is recognisable.
//
//===----------------------------------------------------------------------===//
#include "ErrorOf.h"

#include "sparta/Packing.h"
#include "sparta/model/Data.h"
#include "sparta/model/Packer.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::testing;

namespace {

constexpr int64_t kT = 64;

/// 3000 bytes of text (never kPadByte) with documents of many lengths in the
/// training split: one byte (left out), short ones, exactly T+1, T+2 (two
/// pieces, the second of two bytes) and 200 (four pieces).
Dataset documentedText() {
  Dataset d;
  d.name = "documents";
  for (int i = 0; i < 3000; ++i) d.train.push_back(uint8_t(1 + i % 251));
  d.hasDocuments = true;
  d.trainDocuments = {{0, 1},    {1, 30},  {31, 17}, {48, 200}, {250, 65}, {315, 66},
                      {400, 5},  {500, 2}, {600, 9}, {700, 40}, {800, 3},  {900, 64},
                      {1000, 7}, {1100, 33}};
  return d;
}

int64_t roundUp(int64_t x, int64_t p) { return (x + p - 1) / p * p; }

/// Checks row r of `b` against the rules, given the piece it starts at;
/// returns the piece after its last.
int64_t checkRow(const DocumentPacker &packer, const Batch &b, int64_t r, int64_t first, bool wrap,
                 int64_t p) {
  SCOPED_TRACE("row " + std::to_string(r));
  const uint8_t *row = b.row(r), *counted = b.counted.data() + r * kT;
  const int32_t *cu = b.cuSeqlens.data() + r * (b.documents + 1);
  std::vector<bool> covered(kT + 1, false);
  int64_t next = first, n = 0, start = 0;
  for (; n < b.documents && cu[n] < kT && next < packer.pieces(); ++n) {
    const DocumentRange &piece = packer.piece(next);
    EXPECT_EQ(cu[n], start) << "document " << n;
    EXPECT_EQ(cu[n] % p, 0);
    if (start + piece.length > kT + 1) {
      ADD_FAILURE() << "piece " << next << " at " << start << " does not fit";
      return next;
    }
    for (int64_t i = 0; i < piece.length; ++i) {
      EXPECT_EQ(row[start + i], uint8_t(1 + (piece.begin + i) % 251)) << "position " << start + i;
      covered[size_t(start + i)] = true;
    }
    for (int64_t t = start; t < start + piece.length - 1; ++t) EXPECT_EQ(counted[t], 1) << t;
    if (start + piece.length - 1 < kT) {
      EXPECT_EQ(counted[start + piece.length - 1], 0) << "a piece's last byte";
    }
    start = roundUp(start + piece.length, p);
    next = next + 1 < packer.pieces() ? next + 1 : wrap ? 0 : packer.pieces();
  }
  // As full as the next piece allows.
  if (next < packer.pieces() && start < kT) {
    EXPECT_GT(start + packer.piece(next).length, kT + 1) << "piece " << next << " would fit";
  }
  for (int64_t m = n; m <= b.documents; ++m) EXPECT_EQ(cu[m], kT) << "trailing boundary " << m;
  for (int64_t t = 0; t <= kT; ++t) {
    if (covered[size_t(t)]) continue;
    EXPECT_EQ(row[t], kPadByte) << "position " << t;
    if (t < kT) {
      EXPECT_EQ(counted[t], 0) << "padding at " << t;
    }
  }
  return next;
}

int64_t countedSum(const Batch &b) {
  return std::accumulate(b.counted.begin(), b.counted.end(), int64_t(0));
}

TEST(DocumentPacker, LongDocumentsAreCutIntoPiecesSharingOneByte) {
  Dataset d = documentedText();
  DocumentPacker packer(d, Split::Train, kT, 8);
  std::vector<DocumentRange> want = {{1, 30},   {31, 17},  {48, 65},  {112, 65}, {176, 65},
                                     {240, 8},  {250, 65}, {315, 65}, {379, 2},  {400, 5},
                                     {500, 2},  {600, 9},  {700, 40}, {800, 3},  {900, 64},
                                     {1000, 7}, {1100, 33}};
  ASSERT_EQ(packer.pieces(), int64_t(want.size()));
  for (int64_t i = 0; i < packer.pieces(); ++i) EXPECT_EQ(packer.piece(i), want[size_t(i)]) << i;
}

TEST(DocumentPacker, RowsFollowTheRules) {
  Dataset d = documentedText();
  for (int64_t p : {1, 3, 8, 64}) {
    DocumentPacker packer(d, Split::Train, kT, p);
    std::vector<int64_t> firsts;
    for (int64_t i = 0; i < packer.pieces(); ++i) firsts.push_back(i);
    for (bool wrap : {true, false}) {
      Batch b;
      packer.fill(firsts, wrap, b);
      ASSERT_EQ(b.rows, packer.pieces());
      ASSERT_EQ(b.cuSeqlens.size(), size_t(b.rows * (b.documents + 1)));
      EXPECT_NO_THROW(documentIds(b.cuSeqlens, b.rows, kT, p)) << "period " << p;
      EXPECT_EQ(b.targets, countedSum(b));
      int64_t targets = 0;
      for (int64_t r = 0; r < b.rows; ++r) {
        SCOPED_TRACE("period " + std::to_string(p) + (wrap ? ", wrapping" : ""));
        const DocumentPacker::RowExtent extent = packer.extent(firsts[size_t(r)], wrap);
        EXPECT_EQ(checkRow(packer, b, r, firsts[size_t(r)], wrap, p), extent.next);
        targets += extent.targets;
      }
      EXPECT_EQ(targets, b.targets);
    }
  }
  // Period 64 = T: one document per row.
  DocumentPacker whole(d, Split::Train, kT, kT);
  Batch b;
  whole.fill({0, 1, 2}, true, b);
  EXPECT_EQ(b.documents, 1);
  EXPECT_EQ(b.cuSeqlens, (std::vector<int32_t>{0, 64, 0, 64, 0, 64}));
  EXPECT_EQ(b.targets, 29 + 16 + 64);
}

TEST(DocumentPacker, ASmallRowByHand) {
  // Period 8: pieces 11 (600, 9 bytes) at 0, 12 (700, 40) at 16 and 13 (800, 3)
  // at 56; then the row is full (the next would start at 64 = T).
  Dataset d = documentedText();
  DocumentPacker packer(d, Split::Train, kT, 8);
  Batch b;
  packer.fill({11}, true, b);
  EXPECT_EQ(b.cuSeqlens, (std::vector<int32_t>{0, 16, 56, 64}));
  EXPECT_EQ(b.targets, 8 + 39 + 2);
  std::vector<uint8_t> counted(kT, 0);
  for (int t : {0, 1, 2, 3, 4, 5, 6, 7}) counted[t] = 1;
  for (int t = 16; t < 16 + 39; ++t) counted[t] = 1;
  counted[56] = counted[57] = 1;
  EXPECT_EQ(b.counted, counted);
  EXPECT_EQ(b.tokens[9], kPadByte);
  EXPECT_EQ(b.tokens[16], uint8_t(1 + 700 % 251));
  EXPECT_EQ(b.tokens[59], kPadByte);
  EXPECT_EQ(packer.extent(11, true).next, 14);
}

TEST(DocumentPacker, WhatCannotBePackedIsNamed) {
  Dataset none = documentedText();
  none.hasDocuments = false;
  EXPECT_EQ(errorOf([&] { DocumentPacker(none, Split::Train, kT, 8); }),
            "documents has no documents to pack: packed rows need text with documents (gcide, "
            "whose dictd index gives one per entry)");
  Dataset ones = documentedText();
  ones.trainDocuments = {{0, 1}, {5, 1}};
  EXPECT_EQ(errorOf([&] { DocumentPacker(ones, Split::Train, kT, 8); }),
            "the train split of documents holds no document of two bytes or more to pack");
  EXPECT_EQ(errorOf([&] { DocumentPacker(ones, Split::Train, kT, 0); }),
            "packed rows need T >= 1 and a period >= 1 (got T = 64, period 0)");
  Dataset images = documentedText();
  images.kind = DataKind::Images;
  EXPECT_EQ(errorOf([&] { BatchSampler(images, Split::Train, 2, kT, 1, 8); }),
            "documents has no documents to pack: packed rows need text with documents (gcide, "
            "whose dictd index gives one per entry)");
}

TEST(PackedBatchSampler, DeterministicAndReplayedFromItsState) {
  Dataset d = documentedText();
  DocumentPacker packer(d, Split::Train, kT, 8);
  BatchSampler a(d, Split::Train, 6, kT, 42, 8), b(d, Split::Train, 6, kT, 42, 8);
  Batch x, y;
  for (int step = 0; step < 5; ++step) {
    a.next(x);
    b.next(y);
    ASSERT_EQ(x.tokens, y.tokens);
    ASSERT_EQ(x.cuSeqlens, y.cuSeqlens);
    ASSERT_EQ(x.counted, y.counted);
    EXPECT_NO_THROW(documentIds(x.cuSeqlens, x.rows, kT, 8));
    EXPECT_EQ(x.targets, countedSum(x));
    EXPECT_GT(x.targets, 0);
  }
  // The state alone replays the batches (as a checkpoint restores it).
  const uint64_t saved = a.state();
  a.next(x);
  BatchSampler c(d, Split::Train, 6, kT, 7, 8);
  c.setState(saved);
  c.next(y);
  EXPECT_EQ(x.tokens, y.tokens);
  EXPECT_EQ(x.cuSeqlens, y.cuSeqlens);
  EXPECT_EQ(x.counted, y.counted);
  // Another seed, other rows; an unpacked sampler's batch has no documents.
  BatchSampler other(d, Split::Train, 6, kT, 43, 8);
  other.next(y);
  EXPECT_NE(x.tokens, y.tokens);
  BatchSampler plain(d, Split::Train, 6, kT, 42);
  plain.next(x);
  EXPECT_EQ(x.documents, 0);
  EXPECT_TRUE(x.cuSeqlens.empty() && x.counted.empty());
  EXPECT_EQ(x.targets, 6 * kT);
}

TEST(PackedEvalBatches, EveryPieceOnceInOrder) {
  Dataset d = documentedText();
  DocumentPacker packer(d, Split::Train, kT, 8);
  int64_t allTargets = 0;
  for (const DocumentRange &doc : d.trainDocuments) allTargets += doc.length - 1;
  EvalBatches eval(d, Split::Train, 3, kT, 0, 8);
  EXPECT_EQ(eval.totalTargets(), allTargets);
  Batch b;
  int64_t rows = 0, targets = 0, first = 0;
  while (eval.next(b)) {
    for (int64_t r = 0; r < b.rows; ++r) first = checkRow(packer, b, r, first, false, 8);
    rows += b.rows;
    targets += b.targets;
  }
  EXPECT_EQ(first, packer.pieces());
  EXPECT_EQ(rows, eval.totalRows());
  EXPECT_EQ(targets, allTargets);
  // maxRows: the first rows of the same pass.
  EvalBatches two(d, Split::Train, 3, kT, 2, 8);
  ASSERT_EQ(two.totalRows(), 2);
  EXPECT_EQ(two.totalTargets(), packer.extent(0, false).targets +
                                    packer.extent(packer.extent(0, false).next, false).targets);
  ASSERT_TRUE(two.next(b));
  EXPECT_EQ(b.rows, 2);
  EXPECT_FALSE(two.next(b));
}

TEST(PackedRows, AreTheRowsOfABatchFromOneOn) {
  Dataset d = documentedText();
  BatchSampler s(d, Split::Train, 4, kT, 3, 8);
  Batch b = s.next();
  PackedRows rows = b.packedRows(2, 10.5);
  EXPECT_EQ(rows.documents, b.documents);
  EXPECT_EQ(rows.cuSeqlens, b.cuSeqlens.data() + 2 * (b.documents + 1));
  EXPECT_EQ(rows.counted, b.counted.data() + 2 * kT);
  EXPECT_EQ(rows.meanOver, 10.5);
  EXPECT_NE(errorOf([&] { b.packedRows(4, 1); }), "");
  EXPECT_NE(errorOf([&] { BatchSampler(d, Split::Train, 4, kT, 3).next().packedRows(0, 1); }), "");
}

TEST(PackedGcide, RowsOfTheRealEntries) {
  Dataset d = loadGcide(kGcidePath, {}, true);
  const int64_t T = 512, p = 16;
  BatchSampler s(d, Split::Train, 8, T, 1, p);
  Batch b;
  for (int step = 0; step < 20; ++step) {
    s.next(b);
    ASSERT_NO_THROW(documentIds(b.cuSeqlens, b.rows, T, p));
    ASSERT_EQ(b.targets, countedSum(b));
  }
  EvalBatches eval(d, Split::Validation, 8, T, 0, p);
  int64_t want = 0;
  for (const DocumentRange &doc : d.validationDocuments) want += doc.length - 1;
  EXPECT_EQ(eval.totalTargets(), want);
  std::printf("GCIDE validation packed at T = %lld, period %lld: %lld rows, %.1f%% of the inputs "
              "are targets that count\n",
              (long long)T, (long long)p, (long long)eval.totalRows(),
              100.0 * double(want) / double(eval.totalRows() * T));
}

} // namespace
