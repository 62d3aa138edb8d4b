//===- Json.cpp - The small JSON reader and writer of the model files -----===//
//
// A recursive-descent parser over the RFC 8259 grammar. Errors carry the byte
// offset because the documents are single lines (JSONL) or short headers.
// The documents come from elsewhere, so the parser accepts only what has one
// meaning: a member name appears once per object, strings are valid UTF-8
// (no lone surrogate escapes), numbers are finite doubles; and it runs in
// time linear in the text.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Json.h"

#include "sparta/Error.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <unordered_set>

namespace sparta::model {

namespace {

/// The length of the well-formed UTF-8 sequence that starts at `at`, or 0 when
/// there is none (a stray continuation byte, a truncated or overlong sequence,
/// an encoded surrogate, a code point above U+10FFFF).
size_t utf8SequenceLength(const std::string &s, size_t at) {
  auto byte = [&](size_t i) { return at + i < s.size() ? static_cast<unsigned char>(s[at + i]) : 0u; };
  auto continuation = [&](size_t i) { return (byte(i) & 0xC0) == 0x80; };
  unsigned b0 = byte(0), b1 = byte(1);
  if (b0 < 0x80)
    return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    return continuation(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    // E0 needs A0.. (not overlong); ED needs ..9F (not a surrogate).
    bool second = b0 == 0xE0 ? b1 >= 0xA0 && b1 <= 0xBF
                  : b0 == 0xED ? b1 >= 0x80 && b1 <= 0x9F
                               : continuation(1);
    return second && continuation(2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    // F0 needs 90.. (not overlong); F4 needs ..8F (at most U+10FFFF).
    bool second = b0 == 0xF0 ? b1 >= 0x90 && b1 <= 0xBF
                  : b0 == 0xF4 ? b1 >= 0x80 && b1 <= 0x8F
                               : continuation(1);
    return second && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

class Parser {
public:
  Parser(const std::string &text, const std::string &what) : s(text), what(what) {}

  JsonValue document() {
    JsonValue v = value(0);
    skipSpace();
    if (pos != s.size())
      fail("unexpected text after the JSON value");
    return v;
  }

private:
  const std::string &s;
  const std::string &what;
  size_t pos = 0;

  [[noreturn]] void fail(const std::string &message) {
    throw Error(fmt::format("{}: invalid JSON at byte {}: {}", what, pos, message));
  }
  void skipSpace() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!consume(c))
      fail(fmt::format("expected '{}'", c));
  }
  bool literal(const char *word) {
    size_t n = std::char_traits<char>::length(word);
    if (s.compare(pos, n, word) != 0)
      return false;
    pos += n;
    return true;
  }

  void digits() {
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
      ++pos;
    if (pos == start)
      fail("expected a digit");
  }

  JsonValue value(int depth) {
    // Bounded so that a hostile header cannot overflow the stack.
    if (depth > 64)
      fail("nesting deeper than 64 levels");
    skipSpace();
    if (pos >= s.size())
      fail("unexpected end of text");
    JsonValue v;
    char c = s[pos];
    if (c == '{') {
      ++pos;
      v.kind = JsonValue::Kind::Object;
      if (consume('}'))
        return v;
      // One meaning per document: readers that took the first or the last of
      // two equal names would disagree, so neither is chosen.
      std::unordered_set<std::string> names;
      do {
        skipSpace();
        if (pos >= s.size() || s[pos] != '"')
          fail("expected a member name");
        size_t keyStart = pos;
        std::string key = string();
        if (!names.insert(key).second) {
          pos = keyStart;
          fail(fmt::format("duplicate member name {}", jsonQuote(key)));
        }
        expect(':');
        v.members.emplace_back(std::move(key), value(depth + 1));
      } while (consume(','));
      expect('}');
    } else if (c == '[') {
      ++pos;
      v.kind = JsonValue::Kind::Array;
      if (consume(']'))
        return v;
      do
        v.items.push_back(value(depth + 1));
      while (consume(','));
      expect(']');
    } else if (c == '"') {
      v.kind = JsonValue::Kind::String;
      v.text = string();
    } else if (literal("true")) {
      v.kind = JsonValue::Kind::Bool;
      v.boolean = true;
    } else if (literal("false")) {
      v.kind = JsonValue::Kind::Bool;
    } else if (literal("null")) {
      v.kind = JsonValue::Kind::Null;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = pos;
      if (s[pos] == '-')
        ++pos;
      digits();
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        digits();
      }
      if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
        ++pos;
        if (pos < s.size() && (s[pos] == '+' || s[pos] == '-'))
          ++pos;
        digits();
      }
      v.kind = JsonValue::Kind::Number;
      v.text = s.substr(start, pos - start);
      v.number = std::strtod(v.text.c_str(), nullptr);
      if (std::isinf(v.number)) {
        pos = start;
        fail(fmt::format("number {} is out of the range of a double", v.text));
      }
    } else {
      fail(fmt::format("unexpected character '{}'", c));
    }
    return v;
  }

  unsigned hex4() {
    if (pos + 4 > s.size())
      fail("truncated \\u escape");
    unsigned u = 0;
    for (int i = 0; i < 4; ++i) {
      char h = s[pos++];
      u <<= 4;
      if (h >= '0' && h <= '9')
        u |= h - '0';
      else if (h >= 'a' && h <= 'f')
        u |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        u |= h - 'A' + 10;
      else
        fail("bad hex digit in \\u escape");
    }
    return u;
  }

  static void appendUtf8(std::string &out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++pos; // the opening quote
    std::string out;
    while (true) {
      if (pos >= s.size())
        fail("unterminated string");
      char c = s[pos++];
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20)
        fail("control character in a string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        size_t n = utf8SequenceLength(s, pos - 1);
        if (n == 0) {
          --pos;
          fail("invalid UTF-8 in a string");
        }
        out.append(s, pos - 1, n);
        pos += n - 1;
        continue;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= s.size())
        fail("unterminated escape");
      char e = s[pos++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned cp = hex4();
        // A UTF-16 surrogate pair encodes one code point above U+FFFF; a
        // surrogate on its own is no character and has no UTF-8 form.
        if (cp >= 0xDC00 && cp < 0xE000)
          fail("unpaired UTF-16 surrogate");
        if (cp >= 0xD800 && cp < 0xDC00) {
          if (s.compare(pos, 2, "\\u") != 0)
            fail("unpaired UTF-16 surrogate");
          pos += 2;
          unsigned lo = hex4();
          if (lo < 0xDC00 || lo >= 0xE000)
            fail("unpaired UTF-16 surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        fail(fmt::format("unknown escape '\\{}'", e));
      }
    }
  }
};

std::string describe(const JsonValue &v) {
  switch (v.kind) {
  case JsonValue::Kind::Number:
    return "'" + v.text + "'";
  case JsonValue::Kind::String:
    return "the string " + jsonQuote(v.text);
  case JsonValue::Kind::Null:
    return "null";
  case JsonValue::Kind::Bool:
    return v.boolean ? "true" : "false";
  case JsonValue::Kind::Array:
    return "an array";
  case JsonValue::Kind::Object:
    return "an object";
  }
  return "a value";
}

} // namespace

const JsonValue *JsonValue::find(const std::string &key) const {
  for (const auto &[name, v] : members)
    if (name == key)
      return &v;
  return nullptr;
}

int64_t JsonValue::asInt() const {
  if (kind != Kind::Number || text.find_first_of(".eE") != std::string::npos)
    throw Error(fmt::format("expected an integer, found {}", describe(*this)));
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end)
    throw Error(fmt::format("integer '{}' does not fit in 64 bits", text));
  return v;
}

uint64_t JsonValue::asUnsigned() const {
  if (kind != Kind::Number || text.find_first_of(".eE-") != std::string::npos)
    throw Error(fmt::format("expected an unsigned integer, found {}", describe(*this)));
  errno = 0;
  char *end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno == ERANGE || *end)
    throw Error(fmt::format("integer '{}' does not fit in 64 bits", text));
  return v;
}

JsonValue parseJson(const std::string &text, const std::string &what) {
  return Parser(text, what).document();
}

std::string jsonQuote(const std::string &s) {
  // JSON text is UTF-8; bytes that are not would make a file no reader accepts.
  for (size_t i = 0; i < s.size(); ++i) {
    size_t n = utf8SequenceLength(s, i);
    if (n == 0)
      throw Error(fmt::format("cannot write a string as JSON: byte {} is not valid UTF-8", i));
    i += n - 1;
  }
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      else
        out += c;
    }
  }
  return out + "\"";
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v))
    return "null";
  // fmt's default double format is the shortest text that reads back exactly.
  return fmt::format("{}", v);
}

} // namespace sparta::model
