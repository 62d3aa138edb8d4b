//===- Data.cpp - Byte datasets, splits, random windows and evaluation -----===//
//
// Everything is loaded into memory once (GCIDE is 40 MB, Fashion-MNIST 55 MB):
// random windows then cost a memcpy, and the trainer never waits on the disk.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Data.h"

#include "sparta/Error.h"
#include "sparta/model/Packer.h"

#include <fmt/format.h>
#include <zlib.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

namespace sparta::model {

uint64_t Rng::next() {
  s += 0x9E3779B97F4A7C15ull;
  uint64_t z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t Rng::below(uint64_t n) {
  // Rejects the top partial copy of [0, n) so every value is equally likely.
  uint64_t limit = ~uint64_t(0) - (~uint64_t(0) % n);
  uint64_t x;
  do
    x = next();
  while (x >= limit);
  return x % n;
}

double Rng::uniform() { return double(next() >> 11) * 0x1.0p-53; }

const char *splitName(Split split) {
  switch (split) {
  case Split::Train:
    return "train";
  case Split::Validation:
    return "validation";
  case Split::Test:
    return "test";
  }
  return "?";
}

namespace {
/// The one of three members that belongs to split `s`.
template <typename T>
const T &ofSplit(Split s, const T &train, const T &validation, const T &test) {
  switch (s) {
  case Split::Train:
    return train;
  case Split::Validation:
    return validation;
  case Split::Test:
    return test;
  }
  return train;
}
} // namespace

const std::vector<uint8_t> &Dataset::split(Split s) const {
  return ofSplit(s, train, validation, test);
}

const std::vector<DocumentRange> &Dataset::documents(Split s) const {
  return ofSplit(s, trainDocuments, validationDocuments, testDocuments);
}

int64_t Dataset::numImages(Split s) const {
  if (kind != DataKind::Images)
    throw Error(fmt::format("dataset '{}' is text, not images", name));
  return int64_t(split(s).size()) / sequenceBytes;
}

namespace {

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// Where validation and test begin in a text of n bytes.
struct SplitBounds {
  size_t validation, test;
};

SplitBounds splitText(Dataset &d, std::vector<uint8_t> bytes, TextSplit split) {
  if (!(split.train > 0 && split.validation >= 0 && split.train + split.validation <= 1))
    throw Error(
        fmt::format("bad text split {}/{}: the fractions must be positive and sum to at most 1",
                    split.train, split.validation));
  size_t n = bytes.size();
  size_t trainEnd = size_t(std::floor(double(n) * split.train));
  size_t validEnd = size_t(std::floor(double(n) * (split.train + split.validation)));
  d.validation.assign(bytes.begin() + trainEnd, bytes.begin() + validEnd);
  d.test.assign(bytes.begin() + validEnd, bytes.end());
  bytes.resize(trainEnd);
  d.train = std::move(bytes);
  return {trainEnd, validEnd};
}

/// Gives each document (ranges of the whole text, in offset order) to the
/// split it starts in, cut at that split's end, so that the splits stay
/// disjoint; offsets become relative to the split's start.
void splitDocuments(Dataset &d, const std::vector<DocumentRange> &documents, SplitBounds bounds) {
  const int64_t begins[3] = {0, int64_t(bounds.validation), int64_t(bounds.test)};
  std::vector<DocumentRange> *out[3] = {&d.trainDocuments, &d.validationDocuments,
                                        &d.testDocuments};
  for (const DocumentRange &doc : documents) {
    int s = doc.begin >= begins[2] ? 2 : doc.begin >= begins[1] ? 1 : 0;
    const int64_t splitEnd = begins[s] + int64_t(d.split(Split(s)).size());
    const int64_t end = std::min(doc.begin + doc.length, splitEnd);
    out[s]->push_back({doc.begin - begins[s], end - doc.begin});
  }
  d.hasDocuments = true;
}

uint32_t bigEndian32(const uint8_t *p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

/// The pixels of an idx3 file (magic 0x00000803: unsigned bytes, 3 dimensions).
std::vector<uint8_t> readIdxImages(const std::string &path, int64_t &count, int64_t &height,
                                   int64_t &width) {
  std::vector<uint8_t> bytes = readMaybeGzipped(path);
  if (bytes.size() < 16 || bigEndian32(bytes.data()) != 0x00000803)
    throw Error(fmt::format("{}: not an idx3 image file (bad magic number)", path));
  count = bigEndian32(bytes.data() + 4);
  height = bigEndian32(bytes.data() + 8);
  width = bigEndian32(bytes.data() + 12);
  uint64_t expected = 16 + uint64_t(count) * height * width;
  if (bytes.size() != expected)
    throw Error(fmt::format("{}: {} images of {}x{} need {} bytes, the file has {}", path, count,
                            height, width, expected, bytes.size()));
  bytes.erase(bytes.begin(), bytes.begin() + 16);
  return bytes;
}

/// `dir`/`stem` with or without ".gz", or an error naming the package.
std::string findIdx(const std::string &dir, const std::string &stem) {
  for (const char *suffix : {".gz", ""}) {
    std::string path = dir + "/" + stem + suffix;
    if (fileExists(path))
      return path;
  }
  throw Error(fmt::format("Fashion-MNIST not found: no {}/{}[.gz]; install it with "
                          "`apt-get install dataset-fashion-mnist`",
                          dir, stem));
}

} // namespace

std::vector<uint8_t> readMaybeGzipped(const std::string &path) {
  if (!fileExists(path))
    throw Error(fmt::format("cannot read '{}': no such file", path));
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f)
    throw Error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  // A larger zlib buffer: the default 8 KB makes 40 MB of reads slow.
  gzbuffer(f, 1 << 20);
  std::vector<uint8_t> out;
  constexpr size_t kChunk = 1 << 22;
  while (true) {
    size_t old = out.size();
    out.resize(old + kChunk);
    int n = gzread(f, out.data() + old, unsigned(kChunk));
    if (n < 0) {
      int code = 0;
      std::string message = gzerror(f, &code);
      gzclose(f);
      throw Error(fmt::format("cannot decompress '{}': {}", path, message));
    }
    out.resize(old + size_t(n));
    if (n == 0)
      break;
  }
  gzclose(f);
  return out;
}

Dataset loadGcide(const std::string &path, TextSplit split, bool documents) {
  if (!fileExists(path))
    throw Error(
        fmt::format("GCIDE not found at '{}'; install it with `apt-get install dict-gcide`", path));
  // The index's name and presence first: a missing one is then reported before 40 MB are unpacked.
  const std::string indexPath = documents ? dictIndexPath(path) : "";
  if (documents && !fileExists(indexPath))
    throw Error(fmt::format("GCIDE's entries need its dictd index '{}' beside '{}' (dict-gcide "
                            "installs both)",
                            indexPath, path));
  Dataset d;
  d.kind = DataKind::Text;
  d.name = "gcide";
  std::vector<uint8_t> bytes = readMaybeGzipped(path);
  std::vector<DocumentRange> entries;
  if (documents) entries = readDictIndex(indexPath, bytes.size());
  SplitBounds bounds = splitText(d, std::move(bytes), split);
  if (documents) splitDocuments(d, entries, bounds);
  return d;
}

Dataset loadByteFile(const std::string &path, TextSplit split) {
  Dataset d;
  d.kind = DataKind::Text;
  d.name = path;
  splitText(d, readMaybeGzipped(path), split);
  if (d.train.empty())
    throw Error(fmt::format("'{}' is empty", path));
  return d;
}

Dataset loadFashionMnist(const std::string &dir, int64_t validationImages) {
  Dataset d;
  d.kind = DataKind::Images;
  d.name = "fashion-mnist";
  int64_t trainCount, testCount, h, w, h2, w2;
  std::vector<uint8_t> train =
      readIdxImages(findIdx(dir, "train-images-idx3-ubyte"), trainCount, h, w);
  d.test = readIdxImages(findIdx(dir, "t10k-images-idx3-ubyte"), testCount, h2, w2);
  if (h != h2 || w != w2)
    throw Error(
        fmt::format("{}: training images are {}x{} but test images {}x{}", dir, h, w, h2, w2));
  if (validationImages < 0 || validationImages >= trainCount)
    throw Error(fmt::format("cannot hold out {} of {} training images for validation",
                            validationImages, trainCount));
  d.imageHeight = h;
  d.imageWidth = w;
  d.sequenceBytes = h * w;
  // The last images of the official training file are the validation split.
  size_t cut = size_t((trainCount - validationImages) * d.sequenceBytes);
  d.validation.assign(train.begin() + cut, train.end());
  train.resize(cut);
  d.train = std::move(train);
  return d;
}

Dataset loadDataset(const std::string &spec) {
  if (spec == "gcide")
    return loadGcide();
  if (spec == "fashion-mnist")
    return loadFashionMnist();
  if (!fileExists(spec))
    throw Error(fmt::format("unknown dataset '{}': expected 'gcide', 'fashion-mnist' or the path "
                            "of a file",
                            spec));
  return loadByteFile(spec);
}

namespace {

void checkBatchShape(int64_t batch, int64_t seqLen) {
  if (batch <= 0 || seqLen <= 0)
    throw Error(fmt::format("batch size and sequence length must be positive (got {} and {})",
                            batch, seqLen));
}

/// Checks the row shape against the data and returns the number of distinct
/// rows a split offers (text: window start offsets; images: images).
int64_t rowsAvailable(const Dataset &data, Split split, int64_t batch, int64_t seqLen) {
  checkBatchShape(batch, seqLen);
  const auto &bytes = data.split(split);
  if (data.kind == DataKind::Images) {
    if (seqLen != data.sequenceBytes)
      throw Error(fmt::format("{} images are sequences of {} bytes: T must be {} (got {})",
                              data.name, data.sequenceBytes, data.sequenceBytes, seqLen));
    if (bytes.empty())
      throw Error(fmt::format("the {} split of {} holds no images", splitName(split), data.name));
    return data.numImages(split);
  }
  if (int64_t(bytes.size()) < seqLen + 1)
    throw Error(fmt::format("the {} split of {} has {} bytes, fewer than T+1 = {}",
                            splitName(split), data.name, bytes.size(), seqLen + 1));
  return int64_t(bytes.size()) - seqLen;
}

/// Copies row `index` (a text offset or an image number) into `dst`, T+1 bytes.
void fillRow(const Dataset &data, Split split, int64_t seqLen, int64_t index, uint8_t *dst) {
  const auto &bytes = data.split(split);
  if (data.kind == DataKind::Images) {
    dst[0] = data.startByte;
    std::memcpy(dst + 1, bytes.data() + index * data.sequenceBytes, size_t(data.sequenceBytes));
  } else {
    std::memcpy(dst, bytes.data() + index, size_t(seqLen + 1));
  }
}

/// Makes `out` a batch of `rows` unpacked rows.
void unpackedShape(Batch &out, int64_t rows, int64_t seqLen) {
  out.rows = rows;
  out.seqLen = seqLen;
  out.tokens.resize(size_t(rows * (seqLen + 1)));
  out.documents = 0;
  out.cuSeqlens.clear();
  out.counted.clear();
  out.targets = rows * seqLen;
}

/// The packer of a sampler given `packPeriod` (null for 0); the row shape is
/// checked as for unpacked rows.
std::shared_ptr<const DocumentPacker> packerFor(const Dataset &data, Split split, int64_t batch,
                                                int64_t seqLen, int64_t packPeriod) {
  if (packPeriod == 0) {
    rowsAvailable(data, split, batch, seqLen);
    return nullptr;
  }
  checkBatchShape(batch, seqLen);
  return std::make_shared<const DocumentPacker>(data, split, seqLen, packPeriod);
}

} // namespace

PackedRows Batch::packedRows(int64_t first, double meanOver) const {
  if (documents < 1 || first < 0 || first >= rows)
    throw Error(fmt::format("packedRows({}) of a batch of {} rows and {} documents per row", first,
                            rows, documents));
  PackedRows p;
  p.documents = documents;
  p.cuSeqlens = cuSeqlens.data() + first * (documents + 1);
  p.counted = counted.data() + first * seqLen;
  p.meanOver = meanOver;
  return p;
}

BatchSampler::BatchSampler(const Dataset &data, Split split, int64_t batch, int64_t seqLen,
                           uint64_t seed, int64_t packPeriod)
    : data(data), split(split), batch(batch), seqLen(seqLen), rng(seed),
      packer(packerFor(data, split, batch, seqLen, packPeriod)) {}

void BatchSampler::next(Batch &out) {
  if (packer) {
    std::vector<int64_t> firsts(static_cast<size_t>(batch));
    for (int64_t &first : firsts)
      first = int64_t(rng.below(uint64_t(packer->pieces())));
    packer->fill(firsts, true, out);
    return;
  }
  int64_t choices = rowsAvailable(data, split, batch, seqLen);
  unpackedShape(out, batch, seqLen);
  for (int64_t r = 0; r < batch; ++r)
    fillRow(data, split, seqLen, int64_t(rng.below(uint64_t(choices))),
            out.tokens.data() + r * (seqLen + 1));
}

EvalBatches::EvalBatches(const Dataset &data, Split split, int64_t batch, int64_t seqLen,
                         int64_t maxRows, int64_t packPeriod)
    : data(data), split(split), batch(batch), seqLen(seqLen),
      packer(packerFor(data, split, batch, seqLen, packPeriod)) {
  const int64_t limit = maxRows > 0 ? maxRows : std::numeric_limits<int64_t>::max();
  if (packer) {
    // Lays the rows out once: their number and targets are known before the pass.
    targetsTotal = 0;
    for (int64_t first = 0; first < packer->pieces() && int64_t(rowFirst.size()) < limit;) {
      rowFirst.push_back(first);
      DocumentPacker::RowExtent row = packer->extent(first, false);
      targetsTotal += row.targets;
      first = row.next;
    }
    rowsTotal = int64_t(rowFirst.size());
    return;
  }
  if (data.kind == DataKind::Images)
    rowsTotal = data.numImages(split);
  else
    rowsTotal = (int64_t(data.split(split).size()) - 1) / seqLen;
  rowsTotal = std::min(rowsTotal, limit);
  targetsTotal = rowsTotal * seqLen;
}

bool EvalBatches::next(Batch &out) {
  if (nextRow >= rowsTotal)
    return false;
  int64_t rows = std::min(batch, rowsTotal - nextRow);
  if (packer) {
    packer->fill({rowFirst.begin() + nextRow, rowFirst.begin() + nextRow + rows}, false, out);
  } else {
    unpackedShape(out, rows, seqLen);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t i = nextRow + r;
      fillRow(data, split, seqLen, data.kind == DataKind::Images ? i : i * seqLen,
              out.tokens.data() + r * (seqLen + 1));
    }
  }
  nextRow += rows;
  return true;
}

} // namespace sparta::model
