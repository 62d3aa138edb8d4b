//===- Data.h - Byte datasets, splits, random windows and evaluation -------===//
//
// The model is byte-level: every dataset is a sequence of bytes (text) or a set
// of fixed-size byte sequences (images, one byte per pixel). A batch is always
// B rows of T+1 bytes; row r's inputs are bytes [0, T) and its targets (the
// next byte at every position) are bytes [1, T+1).
//
//   text   : a row is any T+1 consecutive bytes of the split.
//   images : a row is the start byte (0) followed by the 784 pixels of one
//            image, so T = 784 exactly and every pixel is a target (bits per
//            dim averages over all 784 of them).
//
// Splits are fixed by the data, never by a seed: text is cut into contiguous
// ranges (90/5/5 by default); Fashion-MNIST's official training file is cut
// into train (the first 55000 images) and validation (the last 5000), and its
// test file is the test split. docs/training-data.md has the details.
//
// GCIDE can also come as documents, one per dictionary entry (from its dictd
// index): what packed rows (Packer.h) are made of.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparta::model {

/// Where Debian's packages install the data (dict-gcide, dataset-fashion-mnist).
inline constexpr const char *kGcidePath = "/usr/share/dictd/gcide.dict.dz";
inline constexpr const char *kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// splitmix64: a 64-bit state that advances by a constant and a mixing output
/// function. Its state is one integer, so a checkpoint restores it exactly, and
/// the sequence is the same on every platform (unlike std::mt19937's
/// distributions, whose output the C++ standard leaves to the library).
class Rng {
public:
  explicit Rng(uint64_t seed = 0) : s(seed) {}
  uint64_t next();
  /// Uniform in [0, n) without modulo bias; n > 0.
  uint64_t below(uint64_t n);
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  uint64_t state() const { return s; }
  void setState(uint64_t state) { s = state; }

private:
  uint64_t s;
};

enum class Split { Train, Validation, Test };
const char *splitName(Split split);

enum class DataKind { Text, Images };

/// One document: bytes [begin, begin + length) of a split.
struct DocumentRange {
  int64_t begin = 0, length = 0;
  bool operator==(const DocumentRange &o) const { return begin == o.begin && length == o.length; }
};

struct Dataset {
  DataKind kind = DataKind::Text;
  std::string name; // "gcide", "fashion-mnist" or the file's path
  std::vector<uint8_t> train, validation, test;
  /// Images: bytes per image (784) and its shape; 0 for text.
  int64_t sequenceBytes = 0;
  int64_t imageWidth = 0, imageHeight = 0;
  /// Images: the byte that precedes the pixels in a row (see above).
  uint8_t startByte = 0;
  /// Text loaded with documents (loadGcide(..., true)): the documents of each
  /// split in offset order, offsets into the split's bytes. A document belongs
  /// to the split it starts in and is cut at that split's end.
  bool hasDocuments = false;
  std::vector<DocumentRange> trainDocuments, validationDocuments, testDocuments;

  const std::vector<uint8_t> &split(Split s) const;
  const std::vector<DocumentRange> &documents(Split s) const;
  /// Images in a split (images only).
  int64_t numImages(Split s) const;
  /// "bits/byte" (text) or "bits/dim" (images), the unit of evaluation: the
  /// mean cross-entropy over all targets (packed rows: those that count) in
  /// nats, divided by ln 2.
  const char *unitName() const { return kind == DataKind::Text ? "bits/byte" : "bits/dim"; }
};

/// Fractions of a byte file that go to train and validation (test gets the rest).
struct TextSplit {
  double train = 0.90;
  double validation = 0.05;
};

/// GCIDE (GNU Collaborative International Dictionary of English), about 40 MB
/// of text decompressed from the dictzip file through zlib. Throws
/// sparta::Error naming the Debian package when the file is missing. With
/// `documents`, also its entries from the dictd index beside it
/// (dictIndexPath, readDictIndex) as each split's documents.
Dataset loadGcide(const std::string &path = kGcidePath, TextSplit split = {},
                  bool documents = false);
/// The index of a dictd database: NAME.dict.dz or NAME.dict -> NAME.index.
/// Throws sparta::Error for a path named otherwise.
std::string dictIndexPath(const std::string &dictPath);
/// The entries of a dictd index (lines "headword TAB offset TAB length", an
/// optional fourth column ignored; numbers in dictd's base64 digits) as
/// ranges of the uncompressed database of `dataBytes` bytes: distinct, in
/// offset order, overlapping ranges merged into one. Bytes no entry covers
/// (the separators between entries) belong to no document. Throws
/// sparta::Error naming the file and line of a malformed line, an empty
/// entry or one that ends past the data.
std::vector<DocumentRange> readDictIndex(const std::string &indexPath, uint64_t dataBytes);
/// Fashion-MNIST from the idx files in `dir` (gzipped or plain): 60000
/// training and 10000 test images of 28x28 bytes.
Dataset loadFashionMnist(const std::string &dir = kFashionMnistDir,
                         int64_t validationImages = 5000);
/// Any file as bytes (gzipped files are decompressed), split as text.
Dataset loadByteFile(const std::string &path, TextSplit split = {});
/// "gcide", "fashion-mnist", or a path (loadByteFile).
Dataset loadDataset(const std::string &spec);

/// Reads a whole file, transparently gunzipping it when it is gzip or dictzip
/// (zlib reads plain files unchanged). Throws sparta::Error naming the file.
std::vector<uint8_t> readMaybeGzipped(const std::string &path);

/// Rows of packed documents as the model takes them (Transformer.h,
/// TransformerReference.h): host arrays of the rows a call gets.
struct PackedRows {
  int64_t documents = 0;              // N: documents per row (trailing ones may be empty)
  const int32_t *cuSeqlens = nullptr; // [rows, N + 1] over the T inputs (sparta/Packing.h)
  const uint8_t *counted = nullptr;   // [rows, T]: nonzero where the target of input t counts
  /// A training step's loss is the sum over the counted targets divided by
  /// this, and its gradient that mean's (evaluation sums, ignoring it).
  double meanOver = 0;
};

class DocumentPacker;

/// B rows of T+1 bytes, row-major: row r is tokens[r*(T+1) .. (r+1)*(T+1)).
struct Batch {
  int64_t rows = 0;   // B (an evaluation batch's last one may hold fewer)
  int64_t seqLen = 0; // T
  std::vector<uint8_t> tokens;
  /// Packed rows (a sampler given a period, Packer.h); documents is 0 and the
  /// two arrays empty otherwise.
  int64_t documents = 0;           // N: documents per row
  std::vector<int32_t> cuSeqlens;  // [rows, N + 1]
  std::vector<uint8_t> counted;    // [rows, T]: 1 where the target of input t counts
  int64_t targets = 0;             // the targets that count (rows * T unpacked)
  const uint8_t *row(int64_t r) const { return tokens.data() + r * (seqLen + 1); }
  /// Rows from `first` on of a packed batch, the loss a mean over `meanOver`.
  PackedRows packedRows(int64_t first, double meanOver) const;
};

/// Random training rows: text windows start at offsets drawn uniformly from
/// the split; images are drawn uniformly (with replacement) from the split.
/// With `packPeriod` > 0, rows of text documents packed at multiples of it
/// (Packer.h), each starting at a piece drawn uniformly.
/// The whole state is the RNG's, so restoring state() replays the same batches.
/// `data` must outlive the sampler (it is referenced, not copied).
class BatchSampler {
public:
  BatchSampler(const Dataset &data, Split split, int64_t batch, int64_t seqLen, uint64_t seed,
               int64_t packPeriod = 0);
  void next(Batch &out);
  Batch next() {
    Batch b;
    next(b);
    return b;
  }
  uint64_t state() const { return rng.state(); }
  void setState(uint64_t state) { rng.setState(state); }

private:
  const Dataset &data;
  Split split;
  int64_t batch, seqLen;
  Rng rng;
  std::shared_ptr<const DocumentPacker> packer; // null: unpacked
};

/// Deterministic, non-overlapping coverage of a held-out split. Text: window i
/// holds bytes [i*T, i*T + T], so consecutive windows share one byte (the last
/// target of one is the first input of the next) and every byte after the
/// first is predicted exactly once. Images: every image once, in order.
/// `maxRows` > 0 evaluates only the first maxRows windows (a fixed subset, so
/// figures are comparable across evaluations). With `packPeriod` > 0, packed
/// rows (Packer.h) holding the split's documents in order, each piece once.
class EvalBatches {
public:
  EvalBatches(const Dataset &data, Split split, int64_t batch, int64_t seqLen, int64_t maxRows = 0,
              int64_t packPeriod = 0);
  /// Fills the next batch; false when every row has been produced. The last
  /// batch may hold fewer than `batch` rows (Batch::rows says how many).
  bool next(Batch &out);
  void reset() { nextRow = 0; }
  int64_t totalRows() const { return rowsTotal; }
  /// Predicted bytes over the whole pass: totalRows() * T, or the targets
  /// that count of the packed rows.
  int64_t totalTargets() const { return targetsTotal; }

private:
  const Dataset &data;
  Split split;
  int64_t batch, seqLen, rowsTotal, targetsTotal, nextRow = 0;
  std::shared_ptr<const DocumentPacker> packer; // null: unpacked
  std::vector<int64_t> rowFirst;                // packed: the piece each row starts at
};

} // namespace sparta::model
