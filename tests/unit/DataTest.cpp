//===- DataTest.cpp - Datasets, splits, random windows, evaluation passes --===//
//
// Loads the real data the Debian packages install (dict-gcide,
// dataset-fashion-mnist; scripts/bootstrap installs both) and small synthetic
// files whose bytes encode their own offsets, so that "this row is a window of
// the split" can be checked exactly.
//
//===----------------------------------------------------------------------===//
#include "TempDir.h"

#include "sparta/model/Data.h"
#include "sparta/Error.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::testing;

namespace {

void writeBytes(const std::string &path, const std::vector<uint8_t> &bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
    gzclose(f);
  } else {
    std::FILE *f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
}

/// An idx3 file of `count` h x w images whose pixel p of image i is (i*7 + p) % 251.
std::vector<uint8_t> idxImages(int count, int h, int w) {
  std::vector<uint8_t> b = {0, 0, 8, 3};
  for (uint32_t v : {uint32_t(count), uint32_t(h), uint32_t(w)})
    for (int s = 24; s >= 0; s -= 8)
      b.push_back(uint8_t(v >> s));
  for (int i = 0; i < count; ++i)
    for (int p = 0; p < h * w; ++p)
      b.push_back(uint8_t((i * 7 + p) % 251));
  return b;
}

/// Text whose byte at offset i is a function of i with period 251 (a prime,
/// so windows of different offsets differ).
Dataset syntheticText(size_t n) {
  std::string dir = tempDir();
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i)
    bytes[i] = uint8_t(i % 251);
  writeBytes(dir + "/text.bin", bytes, false);
  return loadByteFile(dir + "/text.bin");
}

const Dataset &gcide() {
  static Dataset d = loadGcide();
  return d;
}
const Dataset &fashion() {
  static Dataset d = loadFashionMnist();
  return d;
}

bool contains(const std::vector<uint8_t> &bytes, const std::string &needle) {
  return std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()) != bytes.end();
}

} // namespace

TEST(Rng, SplitMix64ReferenceValuesAndState) {
  // The published first outputs of splitmix64 seeded with 0.
  Rng rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ull);
  uint64_t saved = rng.state();
  uint64_t a = rng.next(), b = rng.next();
  rng.setState(saved);
  EXPECT_EQ(rng.next(), a);
  EXPECT_EQ(rng.next(), b);
}

TEST(Rng, BelowAndUniformStayInRange) {
  Rng rng(42);
  std::vector<int> counts(10);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = rng.below(10);
    ASSERT_LT(v, 10u);
    counts[v]++;
    double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
  for (int c : counts) // 10000 expected, sigma ~95
    EXPECT_NEAR(c, 10000, 600);
}

TEST(Gcide, LoadsTheDictionary) {
  const Dataset &d = gcide();
  size_t total = d.train.size() + d.validation.size() + d.test.size();
  // 39,952,321 bytes in Debian 12's dict-gcide 0.48; leave room for other versions.
  EXPECT_GT(total, 30'000'000u);
  EXPECT_LT(total, 60'000'000u);
  EXPECT_EQ(d.kind, DataKind::Text);
  EXPECT_STREQ(d.unitName(), "bits/byte");
  EXPECT_TRUE(contains(d.train, "The Collaborative International Dictionary of English"));
  EXPECT_TRUE(contains(d.train, "aardvark"));
  EXPECT_TRUE(contains(d.test, "zebra") || contains(d.test, "Zebra"));
  // 90/5/5 in contiguous ranges.
  EXPECT_NEAR(double(d.train.size()) / total, 0.90, 1e-6);
  EXPECT_NEAR(double(d.validation.size()) / total, 0.05, 1e-6);
}

TEST(Gcide, SplitsAreContiguousDisjointAndDeterministic) {
  const Dataset &d = gcide();
  std::vector<uint8_t> whole = readMaybeGzipped(kGcidePath);
  std::vector<uint8_t> joined = d.train;
  joined.insert(joined.end(), d.validation.begin(), d.validation.end());
  joined.insert(joined.end(), d.test.begin(), d.test.end());
  EXPECT_TRUE(joined == whole) << "train + validation + test must be the file, in order";
  Dataset again = loadGcide();
  EXPECT_TRUE(again.validation == d.validation);
  EXPECT_TRUE(again.test == d.test);
}

TEST(Gcide, MissingFileNamesThePackage) {
  try {
    loadGcide("/nonexistent/gcide.dict.dz");
    FAIL() << "expected sparta::Error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install dict-gcide"), std::string::npos)
        << e.what();
  }
}

TEST(FashionMnist, LoadsSixtyPlusTenThousandImages) {
  const Dataset &d = fashion();
  EXPECT_EQ(d.kind, DataKind::Images);
  EXPECT_EQ(d.sequenceBytes, 784);
  EXPECT_EQ(d.imageWidth, 28);
  EXPECT_EQ(d.imageHeight, 28);
  EXPECT_EQ(d.numImages(Split::Train), 55000);
  EXPECT_EQ(d.numImages(Split::Validation), 5000);
  EXPECT_EQ(d.numImages(Split::Test), 10000);
  EXPECT_EQ(d.train.size() + d.validation.size(), 60000u * 784);
  EXPECT_EQ(d.test.size(), 10000u * 784);
  // Fashion-MNIST's published mean intensity is 0.2860 (72.9 of 255).
  double sum = 0;
  for (uint8_t p : d.train)
    sum += p;
  EXPECT_NEAR(sum / d.train.size(), 72.9, 1.5);
}

TEST(FashionMnist, ValidationIsTheEndOfTheTrainingFile) {
  std::vector<uint8_t> file =
      readMaybeGzipped(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz");
  const Dataset &d = fashion();
  ASSERT_EQ(file.size(), 16 + 60000u * 784);
  EXPECT_TRUE(std::equal(d.train.begin(), d.train.end(), file.begin() + 16));
  EXPECT_TRUE(
      std::equal(d.validation.begin(), d.validation.end(), file.begin() + 16 + 55000 * 784));
}

TEST(FashionMnist, ReadsPlainAndGzippedIdxAndNamesThePackage) {
  for (bool gz : {false, true}) {
    std::string dir = tempDir(), suffix = gz ? ".gz" : "";
    writeBytes(dir + "/train-images-idx3-ubyte" + suffix, idxImages(12, 4, 3), gz);
    writeBytes(dir + "/t10k-images-idx3-ubyte" + suffix, idxImages(5, 4, 3), gz);
    Dataset d = loadFashionMnist(dir, 2);
    EXPECT_EQ(d.sequenceBytes, 12);
    EXPECT_EQ(d.numImages(Split::Train), 10);
    EXPECT_EQ(d.numImages(Split::Validation), 2);
    EXPECT_EQ(d.numImages(Split::Test), 5);
    EXPECT_EQ(d.validation[0], uint8_t(10 * 7 % 251)); // image 10, pixel 0
  }
  std::string dir = tempDir();
  try {
    loadFashionMnist(dir);
    FAIL() << "expected sparta::Error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install dataset-fashion-mnist"),
              std::string::npos)
        << e.what();
  }
  std::vector<uint8_t> bad = idxImages(3, 2, 2);
  bad[3] = 1; // idx1 (labels) instead of idx3
  writeBytes(dir + "/train-images-idx3-ubyte", bad, false);
  writeBytes(dir + "/t10k-images-idx3-ubyte", idxImages(3, 2, 2), false);
  EXPECT_THROW(loadFashionMnist(dir, 1), Error);
}

TEST(BatchSampler, TextRowsAreWindowsOfTheSplit) {
  Dataset d = syntheticText(100000);
  BatchSampler sampler(d, Split::Train, 8, 64, 7);
  std::set<int> starts;
  for (int i = 0; i < 20; ++i) {
    Batch b = sampler.next();
    ASSERT_EQ(b.rows, 8);
    ASSERT_EQ(b.tokens.size(), 8u * 65);
    for (int r = 0; r < b.rows; ++r) {
      const uint8_t *row = b.row(r);
      for (int t = 1; t <= 64; ++t) // the target of position t-1 is the next byte
        ASSERT_EQ(row[t], uint8_t((row[t - 1] + 1) % 251));
      starts.insert(row[0]);
    }
  }
  EXPECT_GT(starts.size(), 100u) << "window offsets should be spread over the split";
}

TEST(BatchSampler, ReproducibleFromSeedAndState) {
  const Dataset &d = gcide();
  BatchSampler a(d, Split::Train, 4, 256, 123), b(d, Split::Train, 4, 256, 123);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(a.next().tokens == b.next().tokens);
  BatchSampler other(d, Split::Train, 4, 256, 124);
  EXPECT_FALSE(other.next().tokens == a.next().tokens);
  // Resume: a sampler restored from a saved state continues identically.
  uint64_t saved = a.state();
  std::vector<std::vector<uint8_t>> expected;
  for (int i = 0; i < 3; ++i)
    expected.push_back(a.next().tokens);
  BatchSampler resumed(d, Split::Train, 4, 256, 999);
  resumed.setState(saved);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(resumed.next().tokens == expected[i]) << "batch " << i;
}

TEST(BatchSampler, ImageRowsAreStartBytePlusOneImage) {
  const Dataset &d = fashion();
  BatchSampler sampler(d, Split::Train, 16, 784, 5);
  Batch b = sampler.next();
  ASSERT_EQ(b.tokens.size(), 16u * 785);
  for (int r = 0; r < 16; ++r) {
    EXPECT_EQ(b.row(r)[0], d.startByte);
    bool found = false;
    for (int64_t i = 0; i < 55000 && !found; ++i)
      found = std::memcmp(b.row(r) + 1, d.train.data() + i * 784, 784) == 0;
    EXPECT_TRUE(found) << "row " << r << " is no training image";
  }
  EXPECT_THROW(BatchSampler(d, Split::Train, 16, 1024, 5), Error);
}

TEST(EvalBatches, TextCoversTheSplitWithoutOverlap) {
  // 1000 validation bytes and T = 125: T divides the split, the case where
  // one window fewer fits than n / T suggests (the last needs a target byte).
  Dataset d = syntheticText(20000);
  const int64_t T = 125, B = 6;
  EvalBatches eval(d, Split::Validation, B, T);
  int64_t n = int64_t(d.validation.size());
  ASSERT_EQ(n, 1000);
  EXPECT_EQ(eval.totalRows(), 7);
  EXPECT_EQ(eval.totalTargets(), eval.totalRows() * T);
  std::vector<uint8_t> covered = {d.validation[0]};
  Batch b;
  int64_t rows = 0, batches = 0;
  while (eval.next(b)) {
    ++batches;
    for (int64_t r = 0; r < b.rows; ++r, ++rows) {
      ASSERT_EQ(b.row(r)[0], covered.back()) << "windows share exactly one byte";
      covered.insert(covered.end(), b.row(r) + 1, b.row(r) + T + 1);
    }
  }
  EXPECT_EQ(rows, eval.totalRows());
  EXPECT_EQ(batches, (rows + B - 1) / B);
  EXPECT_TRUE(std::equal(covered.begin(), covered.end(), d.validation.begin()));
  EXPECT_EQ(int64_t(covered.size()), 1 + rows * T);
  // A second pass after reset() is identical; maxRows caps the pass.
  eval.reset();
  ASSERT_TRUE(eval.next(b));
  EXPECT_EQ(b.row(0)[0], d.validation[0]);
  EvalBatches capped(d, Split::Validation, B, T, 7);
  EXPECT_EQ(capped.totalRows(), 7);
}

TEST(EvalBatches, ImagesAreEachUsedOnceInOrder) {
  const Dataset &d = fashion();
  EvalBatches eval(d, Split::Validation, 64, 784);
  Batch b;
  int64_t image = 0, batches = 0;
  while (eval.next(b)) {
    ++batches;
    for (int64_t r = 0; r < b.rows; ++r, ++image)
      ASSERT_EQ(std::memcmp(b.row(r) + 1, d.validation.data() + image * 784, 784), 0);
  }
  EXPECT_EQ(image, 5000);
  EXPECT_EQ(batches, 79); // 78 full batches and one of 8 rows
  EXPECT_EQ(b.rows, 8);
}

TEST(Datasets, SpecsAndErrors) {
  EXPECT_EQ(loadDataset("gcide").name, "gcide");
  try {
    loadDataset("no-such-dataset");
    FAIL() << "expected sparta::Error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("fashion-mnist"), std::string::npos) << e.what();
  }
  Dataset tiny = syntheticText(100);
  EXPECT_THROW(BatchSampler(tiny, Split::Validation, 2, 64, 1), Error); // 5 bytes < T+1
  EXPECT_THROW(BatchSampler(tiny, Split::Train, 0, 8, 1), Error);
}
