//===- Metrics.cpp - The JSONL metrics file --------------------------------===//
//
// One record per line, flushed per line: a run killed at any point leaves a
// file whose complete lines are all valid (a half-written last line is
// skipped by the resume path, which rewrites the file atomically).
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Metrics.h"

#include "sparta/Error.h"
#include "sparta/model/Checkpoint.h"
#include "sparta/model/Json.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

namespace sparta::model {

std::string MetricsRecord::toJson() const {
  std::string s = fmt::format("{{\"step\":{},\"split\":{},\"loss\":{},\"bits\":{}", step,
                              jsonQuote(split), jsonNumber(loss), jsonNumber(bits));
  if (lr)
    s += ",\"lr\":" + jsonNumber(*lr);
  if (gradNorm)
    s += ",\"grad_norm\":" + jsonNumber(*gradNorm);
  if (tokensPerSec)
    s += ",\"tokens_per_s\":" + jsonNumber(*tokensPerSec);
  s += ",\"elapsed_s\":" + jsonNumber(elapsedSec) + "}";
  return s;
}

MetricsRecord parseMetricsLine(const std::string &line, const std::string &what) {
  JsonValue v = parseJson(line, what);
  if (!v.isObject())
    throw Error(fmt::format("{}: a metrics record must be a JSON object", what));
  auto number = [&](const char *key, bool required) -> std::optional<double> {
    const JsonValue *f = v.find(key);
    if (!f) {
      if (required)
        throw Error(fmt::format("{}: the metrics record has no \"{}\"", what, key));
      return std::nullopt;
    }
    if (f->isNull()) // a non-finite value, see toJson
      return std::numeric_limits<double>::quiet_NaN();
    if (!f->isNumber())
      throw Error(fmt::format("{}: \"{}\" is not a number", what, key));
    return f->number;
  };
  MetricsRecord r;
  const JsonValue *step = v.find("step");
  if (!step)
    throw Error(fmt::format("{}: the metrics record has no \"step\"", what));
  r.step = step->asInt();
  if (const JsonValue *split = v.find("split")) {
    if (!split->isString())
      throw Error(fmt::format("{}: \"split\" is not a string", what));
    r.split = split->text;
  }
  r.loss = *number("loss", true);
  r.bits = *number("bits", true);
  r.lr = number("lr", false);
  r.gradNorm = number("grad_norm", false);
  r.tokensPerSec = number("tokens_per_s", false);
  r.elapsedSec = number("elapsed_s", false).value_or(0);
  return r;
}

std::vector<MetricsRecord> readMetrics(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw Error(fmt::format("cannot open metrics file '{}': {}", path, std::strerror(errno)));
  std::vector<MetricsRecord> records;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n)
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      records.push_back(parseMetricsLine(line, fmt::format("{}:{}", path, n)));
  return records;
}

MetricsWriter::MetricsWriter(const std::string &path, int64_t resumeStep) : file(path) {
  if (resumeStep >= 0) {
    // Keep the complete records up to the checkpoint's step; a torn last line
    // (the run was killed while writing it) and later steps are dropped.
    std::string kept;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      try {
        if (parseMetricsLine(line, path).step <= resumeStep)
          kept += line + "\n";
      } catch (const Error &) {
      }
    }
    AtomicFile rewrite(path);
    rewrite.write(kept);
    rewrite.commit();
  }
  out = std::fopen(path.c_str(), resumeStep >= 0 ? "a" : "w");
  if (!out)
    throw Error(fmt::format("cannot open metrics file '{}': {}", path, std::strerror(errno)));
}

MetricsWriter::~MetricsWriter() {
  if (out)
    std::fclose(out);
}

void MetricsWriter::write(const MetricsRecord &record) {
  std::string line = record.toJson() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out) != line.size() || std::fflush(out) != 0)
    throw Error(fmt::format("cannot write metrics file '{}': {}", file, std::strerror(errno)));
}

} // namespace sparta::model
