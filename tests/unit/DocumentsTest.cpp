//===- DocumentsTest.cpp - GCIDE's entries as documents (dictd index) -----===//
//
// readDictIndex and loadGcide(..., documents = true) on small dictd
// databases written here (a .dict and its .index, headwords out of order,
// several naming one entry, overlapping ranges, a four-column line), every
// kind of malformed index line, and the real GCIDE index of dict-gcide.
//
//===----------------------------------------------------------------------===//
#include "ErrorOf.h"
#include "TempDir.h"

#include "sparta/model/Data.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::testing;

namespace {

/// A number in dictd's base64 digits, most significant first.
std::string b64(uint64_t v) {
  const char *digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  do {
    out.insert(out.begin(), digits[v % 64]);
    v /= 64;
  } while (v);
  return out;
}

std::string indexLine(const std::string &headword, uint64_t offset, uint64_t length) {
  return headword + "\t" + b64(offset) + "\t" + b64(length) + "\n";
}

/// `dir`/NAME.dict holding `text` and NAME.index holding `index`; returns the .dict path.
std::string writeDatabase(const std::string &dir, const std::string &text,
                          const std::string &index) {
  writeFile(dir + "/db.dict", text);
  writeFile(dir + "/db.index", index);
  return dir + "/db.dict";
}

std::string bytesOf(const std::vector<uint8_t> &split, const DocumentRange &d) {
  return std::string(split.begin() + d.begin, split.begin() + d.begin + d.length);
}

TEST(DictIndex, Base64NumbersAreDictdsDigits) {
  EXPECT_EQ(b64(0), "A");
  EXPECT_EQ(b64(63), "/");
  EXPECT_EQ(b64(64), "BA");
  // Lines of Debian's gcide.index: "00-database-short y BS", "0 5I Fz".
  TempDir dir;
  std::string text(4096, 'x');
  writeFile(dir.path / "gcide.index", "00-database-short\ty\tBS\n0\t5I\tFz\n");
  std::vector<DocumentRange> docs = readDictIndex((dir.path / "gcide.index").string(), text.size());
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], (DocumentRange{50, 82}));
  EXPECT_EQ(docs[1], (DocumentRange{3656, 371}));
}

TEST(DictIndex, EntriesAreDistinctRangesInOffsetOrder) {
  TempDir dir;
  // Entries at 5 (alpha), 14 (beta), 22 (gamma) and 31 (delta), 8, 7, 8 and 8 bytes.
  const std::string text = "HEAD\nalpha a\n\nbeta b\n\ngamma g\n\ndelta d\n";
  std::string index = indexLine("gamma", 22, 8) + indexLine("alpha", 5, 8) +
                      indexLine("Alpha", 5, 8) + // a second headword of one entry
                      "beta\t" + b64(14) + "\t" + b64(7) + "\tBeta\n" + // four columns
                      indexLine("delta", 31, 8) + indexLine("del", 33, 3) + // inside delta
                      indexLine("gam", 21, 4);                              // overlaps gamma
  std::string dict = writeDatabase(dir.path.string(), text, index);
  std::vector<DocumentRange> docs = readDictIndex(dictIndexPath(dict), text.size());
  std::vector<DocumentRange> want = {{5, 8}, {14, 7}, {21, 9}, {31, 8}};
  EXPECT_EQ(docs, want);
  EXPECT_EQ(text.substr(5, 8), "alpha a\n");
  EXPECT_EQ(text.substr(14, 7), "beta b\n");
  EXPECT_EQ(text.substr(31, 8), "delta d\n");
}

TEST(DictIndex, IndexPathIsBesideTheDatabase) {
  EXPECT_EQ(dictIndexPath("/usr/share/dictd/gcide.dict.dz"), "/usr/share/dictd/gcide.index");
  EXPECT_EQ(dictIndexPath("data/x.dict"), "data/x.index");
  EXPECT_EQ(errorOf([] { dictIndexPath("gcide.txt"); }),
            "'gcide.txt' is not named like a dictd database (NAME.dict.dz or NAME.dict), so its "
            "index NAME.index cannot be found");
}

TEST(DictIndex, MalformedLinesNameFileAndLine) {
  TempDir dir;
  const std::string path = (dir.path / "db.index").string();
  const std::string good = indexLine("a", 0, 4);
  auto error = [&](const std::string &index) {
    writeFile(path, index);
    return errorOf([&] { readDictIndex(path, 100); });
  };
  EXPECT_EQ(error(good + "b\tA\n"),
            path + ":2: expected 'headword TAB offset TAB length' (a dictd index line), found 2 "
                   "tab-separated fields");
  EXPECT_EQ(error(good + good + "b\tA\tB\tb\tx\n"),
            path + ":3: expected 'headword TAB offset TAB length' (a dictd index line), found 5 "
                   "tab-separated fields");
  EXPECT_EQ(error(good + "\n"),
            path + ":2: expected 'headword TAB offset TAB length' (a dictd index line), found 1 "
                   "tab-separated field");
  EXPECT_EQ(error("\tA\tB\n"), path + ":1: the headword is empty");
  EXPECT_EQ(error("a\tA-\tB\n"),
            path + ":1: the offset holds the byte 0x2d, not a base64 digit (A-Z a-z 0-9 + /)");
  EXPECT_EQ(error("a\tA\tB\r\n"),
            path + ":1: the length holds the byte 0x0d, not a base64 digit (A-Z a-z 0-9 + /)");
  EXPECT_EQ(error("a\t\tB\n"), path + ":1: the offset has 0 base64 digits (expected 1 to 10)");
  EXPECT_EQ(error("a\tA\tBBBBBBBBBBB\n"),
            path + ":1: the length has 11 base64 digits (expected 1 to 10)");
  EXPECT_EQ(error("a\tB\tA\n"), path + ":1: the entry is empty (length 0)");
  EXPECT_EQ(error(good + indexLine("b", 90, 11)),
            path + ":2: the entry [90, 101) ends past the 100 bytes of the dictionary");
  EXPECT_EQ(error(indexLine("b", 101, 1)),
            path + ":1: the entry [101, 102) ends past the 100 bytes of the dictionary");
  // The largest numbers read are far past the data, never wrapped around.
  EXPECT_EQ(error("b\t//////////\t//////////\n"),
            path + ":1: the entry [1152921504606846975, 2305843009213693950) ends past the 100 "
                   "bytes of the dictionary");
  EXPECT_EQ(error(good + "a\tA\tB"),
            path + ":2: the last line does not end with a newline (a truncated file?)");
  EXPECT_EQ(error(good + std::string(5000, 'w') + "\tA\tB\n"),
            path + ":2: the line is longer than 4096 bytes");
  EXPECT_EQ(error(""), path + ": the index holds no entry");
  EXPECT_EQ(errorOf([&] { readDictIndex((dir.path / "none.index").string(), 100); }),
            "cannot read the dictd index '" + (dir.path / "none.index").string() +
                "': No such file or directory");
}

TEST(GcideDocuments, EachBelongsToTheSplitItStartsIn) {
  TempDir dir;
  // 200 bytes: train [0, 180), validation [180, 190), test [190, 200). An
  // entry crossing 180 is train's, cut there; one crossing 190 validation's.
  std::string text;
  for (int i = 0; i < 200; ++i) text.push_back(char('a' + i % 26));
  std::string index = indexLine("first", 0, 100) + indexLine("second", 101, 40) +
                      indexLine("cross", 170, 15) + indexLine("valid", 185, 10) +
                      indexLine("last", 196, 4);
  std::string dict = writeDatabase(dir.path.string(), text, index);
  Dataset d = loadGcide(dict, {}, true);
  ASSERT_TRUE(d.hasDocuments);
  ASSERT_EQ(d.train.size(), 180u);
  EXPECT_EQ(d.trainDocuments, (std::vector<DocumentRange>{{0, 100}, {101, 40}, {170, 10}}));
  EXPECT_EQ(d.validationDocuments, (std::vector<DocumentRange>{{5, 5}}));
  EXPECT_EQ(d.testDocuments, (std::vector<DocumentRange>{{6, 4}}));
  EXPECT_EQ(bytesOf(d.train, d.trainDocuments[2]), text.substr(170, 10));
  EXPECT_EQ(bytesOf(d.validation, d.validationDocuments[0]), text.substr(185, 5));
  EXPECT_EQ(bytesOf(d.test, d.testDocuments[0]), text.substr(196, 4));
  // Without documents nothing reads the index.
  writeFile(dir.path / "db.index", "garbage");
  Dataset plain = loadGcide(dict);
  EXPECT_FALSE(plain.hasDocuments);
  EXPECT_TRUE(plain.trainDocuments.empty());
  EXPECT_EQ(errorOf([&] { loadGcide(dict, {}, true); }),
            (dir.path / "db.index").string() +
                ":1: the last line does not end with a newline (a truncated file?)");
  std::filesystem::remove(dir.path / "db.index");
  EXPECT_EQ(errorOf([&] { loadGcide(dict, {}, true); }),
            "GCIDE's entries need its dictd index '" + (dir.path / "db.index").string() +
                "' beside '" + dict + "' (dict-gcide installs both)");
}

TEST(GcideDocuments, TheRealIndexGivesOneDocumentPerEntry) {
  Dataset d = loadGcide(kGcidePath, {}, true);
  size_t total = 0;
  for (Split s : {Split::Train, Split::Validation, Split::Test}) {
    const std::vector<DocumentRange> &docs = d.documents(s);
    ASSERT_FALSE(docs.empty()) << splitName(s);
    total += docs.size();
    for (size_t i = 0; i < docs.size(); ++i) {
      ASSERT_GT(docs[i].length, 0);
      ASSERT_LE(docs[i].begin + docs[i].length, int64_t(d.split(s).size()));
      if (i > 0) {
        ASSERT_LE(docs[i - 1].begin + docs[i - 1].length, docs[i].begin);
      }
    }
  }
  // Debian 12's dict-gcide 0.48: 203,645 index lines naming 126,240 distinct
  // entries, none overlapping; leave room for other versions.
  EXPECT_GT(total, 100'000u);
  EXPECT_LT(total, 200'000u);
  // An entry is one headword's text, from its headword to its last line.
  bool found = false;
  for (const DocumentRange &doc : d.trainDocuments)
    if (bytesOf(d.train, doc).rfind("aardvark \\", 0) == 0) {
      found = true;
      EXPECT_NE(bytesOf(d.train, doc).find("feeds entirely on ants"), std::string::npos)
          << bytesOf(d.train, doc);
      EXPECT_EQ(bytesOf(d.train, doc).back(), '\n');
    }
  EXPECT_TRUE(found) << "no entry begins with 'aardvark \\'";
}

} // namespace
