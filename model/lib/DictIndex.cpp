//===- DictIndex.cpp - The entries of a dictd index, as documents ---------===//
//
// A dictd database is NAME.dict(.dz), the entries' text one after another,
// and NAME.index, one line per headword: "headword TAB offset TAB length",
// offset and length in dictd's base64 digits (most significant first) into
// the uncompressed text, and optionally a fourth column (the headword as
// written, dictfmt --index-keep-orig). Several headwords may name one entry,
// so the documents are the distinct ranges; overlapping ranges are merged,
// so that no byte is in two documents.
//
// The index is read line by line with a fixed bound on a line's length, so a
// hostile file costs at most a few bytes of memory per line it holds.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Data.h"

#include "sparta/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace sparta::model {

namespace {

/// dictd's headwords are at most 512 bytes (MAXWORDLEN), a line with both
/// spellings and two numbers a little over twice that.
constexpr size_t kMaxLineBytes = 4096;
/// 10 base64 digits reach 2^60 bytes: more than any file, and no overflow.
constexpr size_t kMaxDigits = 10;

/// The value of one base64 digit of dictd's alphabet, -1 for another byte.
int base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

class IndexParser {
public:
  IndexParser(const std::string &path, uint64_t dataBytes) : path_(path), dataBytes_(dataBytes) {}

  void line(const std::string &text, int64_t lineNumber) {
    lineNumber_ = lineNumber;
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      size_t tab = text.find('\t', start);
      const size_t end = tab == std::string::npos ? text.size() : tab;
      fields.push_back(text.substr(start, end - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (fields.size() != 3 && fields.size() != 4)
      fail(fmt::format("expected 'headword TAB offset TAB length' (a dictd index line), found {} "
                       "tab-separated field{}",
                       fields.size(), fields.size() == 1 ? "" : "s"));
    if (fields[0].empty()) fail("the headword is empty");
    uint64_t offset = parseNumber(fields[1], "offset"), length = parseNumber(fields[2], "length");
    if (length == 0) fail("the entry is empty (length 0)");
    if (offset > dataBytes_ || length > dataBytes_ - offset)
      fail(fmt::format("the entry [{}, {}) ends past the {} bytes of the dictionary", offset,
                       offset + length, dataBytes_));
    ranges_.push_back({int64_t(offset), int64_t(length)});
  }

  [[noreturn]] void fail(const std::string &why) const {
    throw Error(fmt::format("{}:{}: {}", path_, lineNumber_, why));
  }

  /// The distinct ranges in offset order, overlapping ones merged.
  std::vector<DocumentRange> documents() {
    if (ranges_.empty()) throw Error(fmt::format("{}: the index holds no entry", path_));
    std::sort(ranges_.begin(), ranges_.end(), [](const DocumentRange &a, const DocumentRange &b) {
      return a.begin != b.begin ? a.begin < b.begin : a.length < b.length;
    });
    std::vector<DocumentRange> out;
    for (const DocumentRange &r : ranges_) {
      if (!out.empty() && r.begin < out.back().begin + out.back().length) {
        int64_t end = std::max(out.back().begin + out.back().length, r.begin + r.length);
        out.back().length = end - out.back().begin;
      } else {
        out.push_back(r);
      }
    }
    return out;
  }

private:
  uint64_t parseNumber(const std::string &digits, const char *what) const {
    if (digits.empty() || digits.size() > kMaxDigits)
      fail(fmt::format("the {} has {} base64 digits (expected 1 to {})", what, digits.size(),
                       kMaxDigits));
    uint64_t value = 0;
    for (char c : digits) {
      int d = base64Digit(c);
      if (d < 0)
        fail(fmt::format("the {} holds the byte 0x{:02x}, not a base64 digit (A-Z a-z 0-9 + /)",
                         what, unsigned(static_cast<unsigned char>(c))));
      value = value * 64 + uint64_t(d);
    }
    return value;
  }

  std::string path_;
  uint64_t dataBytes_;
  int64_t lineNumber_ = 0;
  std::vector<DocumentRange> ranges_;
};

} // namespace

std::string dictIndexPath(const std::string &dictPath) {
  for (const std::string suffix : {".dict.dz", ".dict"})
    if (dictPath.size() > suffix.size() &&
        dictPath.compare(dictPath.size() - suffix.size(), suffix.size(), suffix) == 0)
      return dictPath.substr(0, dictPath.size() - suffix.size()) + ".index";
  throw Error(fmt::format("'{}' is not named like a dictd database (NAME.dict.dz or NAME.dict), "
                          "so its index NAME.index cannot be found",
                          dictPath));
}

std::vector<DocumentRange> readDictIndex(const std::string &indexPath, uint64_t dataBytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> file(std::fopen(indexPath.c_str(), "rb"),
                                                        &std::fclose);
  if (!file)
    throw Error(
        fmt::format("cannot read the dictd index '{}': {}", indexPath, std::strerror(errno)));
  IndexParser parser(indexPath, dataBytes);
  std::string line;
  int64_t number = 1;
  std::vector<char> chunk(size_t(1) << 20);
  while (size_t n = std::fread(chunk.data(), 1, chunk.size(), file.get())) {
    for (size_t i = 0; i < n; ++i) {
      if (chunk[i] == '\n') {
        parser.line(line, number++);
        line.clear();
      } else if (line.size() == kMaxLineBytes) {
        throw Error(fmt::format("{}:{}: the line is longer than {} bytes", indexPath, number,
                                kMaxLineBytes));
      } else {
        line.push_back(chunk[i]);
      }
    }
  }
  if (std::ferror(file.get()))
    throw Error(
        fmt::format("cannot read the dictd index '{}': {}", indexPath, std::strerror(errno)));
  if (!line.empty())
    throw Error(fmt::format("{}:{}: the last line does not end with a newline (a truncated file?)",
                            indexPath, number));
  return parser.documents();
}

} // namespace sparta::model
