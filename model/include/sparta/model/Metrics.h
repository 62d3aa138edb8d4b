//===- Metrics.h - JSONL metrics, line charts and image grids --------------===//
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

/// One curve of a chart: points in order (those with a non-finite coordinate
/// are skipped, the line joins the others).
struct PlotSeries {
  std::string label; // the legend's text (A-Z, digits, . - / : = + , ( ); lower case is drawn upper)
  std::vector<double> x, y;
  bool markers = false; // a square at every point
};

struct ChartOptions {
  int width = 900, height = 540;
  std::string title; // drawn at the top when not empty
  std::string xLabel = "STEP", yLabel = "BITS";
};

/// Draws the series to a PNG: white background, grid, axes with numeric
/// ticks, series i in the i-th color of a fixed palette (blue, red, green,
/// orange, purple, brown, pink, gray, then again), a legend box at the top
/// right. The y range ignores the points in the first 5% of the x range when
/// they would squash the rest of the curves. Throws sparta::Error for a canvas
/// under 200x150 or a series whose x and y differ in length.
void plotChart(const std::vector<PlotSeries> &series, const std::string &pngPath,
               const ChartOptions &options = {});

/// plotChart of the train (blue) and validation (red, a marker per
/// evaluation) curves of `records`, steps on x.
void plotLossCurves(const std::vector<MetricsRecord> &records, const std::string &pngPath,
                    const PlotOptions &options = {});

/// Writes `count` grayscale images of width x height bytes each (row-major,
/// one byte per pixel, concatenated in `pixels`) as a grid PNG with
/// `columns` images per row (0: about square), each scaled up by `scale`
/// and separated by a 2-pixel gray border.
void writeImageGrid(const std::string &pngPath, const std::vector<uint8_t> &pixels, int64_t count,
                    int64_t width = 28, int64_t height = 28, int64_t columns = 0, int scale = 2);

} // namespace sparta::model
