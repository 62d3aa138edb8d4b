//===- Json.h - The small JSON reader and writer of the model files -------===//
//
// Checkpoint metadata, safetensors headers and the metrics JSONL are JSON. The
// model library parses only what it writes itself plus the safetensors headers
// that PyTorch writes, so a small DOM reader suffices and keeps the install tree
// free of another dependency. Numbers keep their source text as well as a
// double, so 64-bit integers (RNG states, byte offsets) read back exactly.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sparta::model {

class JsonValue {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  /// The literal text of a number, or the decoded text of a string.
  std::string text;
  std::vector<JsonValue> items;                           // Array
  std::vector<std::pair<std::string, JsonValue>> members; // Object, in source order

  bool isNull() const { return kind == Kind::Null; }
  bool isNumber() const { return kind == Kind::Number; }
  bool isString() const { return kind == Kind::String; }
  bool isArray() const { return kind == Kind::Array; }
  bool isObject() const { return kind == Kind::Object; }

  /// The member `key` of an object, or nullptr (also when this is no object).
  const JsonValue *find(const std::string &key) const;
  /// The number as an exact signed or unsigned 64-bit integer; throws
  /// sparta::Error when it is not an integer literal or does not fit.
  int64_t asInt() const;
  uint64_t asUnsigned() const;
};

/// Parses one JSON document. `what` names the source (a file, "line 3 of
/// metrics.jsonl") in the sparta::Error thrown for malformed text, which
/// includes a member name repeated in one object, a string that is not valid
/// UTF-8 or holds a lone surrogate escape, a number beyond the range of a
/// double, and nesting deeper than 64 levels. Linear in the size of `text`.
JsonValue parseJson(const std::string &text, const std::string &what);

/// `s` as a JSON string literal, quotes included; throws sparta::Error when
/// `s` is not valid UTF-8.
std::string jsonQuote(const std::string &s);
/// `v` as a JSON number that reads back to the same double ("null" when it is
/// NaN or infinite, which JSON cannot represent).
std::string jsonNumber(double v);

} // namespace sparta::model
