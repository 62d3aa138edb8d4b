//===- Metrics.h - JSONL metrics, loss-curve plots and image grids ---------===//
//
// The trainer appends one JSON object per line to metrics.jsonl, flushed at
// once so that `tail -f` and a crash both see every finished step:
//
//   {"step":100,"split":"train","loss":1.52,"bits":2.19,"lr":0.0003,
//    "grad_norm":0.84,"tokens_per_s":812345,"elapsed_s":61.2}
//
// "split" is "train" or "validation"; "bits" is bits per byte (text) or per
// dim (images), i.e. loss / ln 2 with the loss in nats. Optional fields
// (lr, grad_norm, tokens_per_s) are omitted when unknown; a non-finite loss is
// written as null and reads back as NaN (JSON has no NaN).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace sparta::model {

struct MetricsRecord {
  int64_t step = 0;
  std::string split = "train";
  double loss = 0; // mean cross-entropy in nats
  double bits = 0; // loss / ln 2
  std::optional<double> lr, gradNorm, tokensPerSec;
  double elapsedSec = 0;

  std::string toJson() const;
};

/// Parses one line written by MetricsWriter; throws sparta::Error naming
/// `what` (e.g. "metrics.jsonl:12") when it is malformed.
MetricsRecord parseMetricsLine(const std::string &line, const std::string &what);
/// Every record of a JSONL file, in file order. Blank lines are skipped.
std::vector<MetricsRecord> readMetrics(const std::string &path);

class MetricsWriter {
public:
  /// Opens `path` for appending. With `resumeStep` >= 0 (a run resumed from
  /// the checkpoint of that step) the records of later steps, written after
  /// the checkpoint by the interrupted run, are dropped first, so the file
  /// reads as one uninterrupted run. With -1 the file is started afresh.
  explicit MetricsWriter(const std::string &path, int64_t resumeStep = -1);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter &) = delete;
  MetricsWriter &operator=(const MetricsWriter &) = delete;

  void write(const MetricsRecord &record);
  const std::string &path() const { return file; }

private:
  std::string file;
  std::FILE *out = nullptr;
};

struct PlotOptions {
  int width = 900, height = 540;
  /// Plot "bits" (default) or "loss".
  bool plotBits = true;
  std::string title; // drawn at the top when not empty (A-Z, digits, . - / : =)
};

/// Draws the train and validation curves of `records` (steps on x) to a PNG:
/// white background, grid, axes with numeric ticks, the training curve in blue
/// and validation in red with a marker per evaluation. The y range ignores the
/// first high-loss steps when they would squash the rest of the curve.
void plotLossCurves(const std::vector<MetricsRecord> &records, const std::string &pngPath,
                    const PlotOptions &options = {});

/// Writes `count` grayscale images of width x height bytes each (row-major,
/// one byte per pixel, concatenated in `pixels`) as a grid PNG with
/// `columns` images per row (0: about square), each scaled up by `scale`
/// and separated by a 2-pixel gray border.
void writeImageGrid(const std::string &pngPath, const std::vector<uint8_t> &pixels, int64_t count,
                    int64_t width = 28, int64_t height = 28, int64_t columns = 0, int scale = 2);

} // namespace sparta::model
