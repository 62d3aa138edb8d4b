//===- Plot.cpp - Line charts (loss curves) and image grids as PNG --------===//
//
// Drawn pixel by pixel into a sparta::Image and written with writePng, so the
// model library needs no plotting or font library. Text uses libsparta's 5x7
// bitmap font (Png.h), drawn at twice its size so tick labels stay legible.
//
//===----------------------------------------------------------------------===//
#include "sparta/model/Metrics.h"

#include "sparta/Error.h"
#include "sparta/Png.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sparta::model {

namespace {

constexpr int kTextScale = 2;
constexpr int kCharHeight = kGlyphHeight * kTextScale;

struct Color {
  uint8_t r, g, b;
};
constexpr Color kBlack{0, 0, 0}, kGrid{225, 225, 225}, kText{40, 40, 40}, kLegendBox{200, 200, 200};
// Series colors in order (the first two are loss.png's train and validation).
constexpr Color kPalette[] = {{31, 119, 180}, {214, 39, 40},   {44, 160, 44},   {255, 127, 14},
                              {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127}};
constexpr size_t kPaletteSize = sizeof kPalette / sizeof kPalette[0];

void fill(Image &img, int64_t x, int64_t y, Color c) {
  if (x >= 0 && y >= 0 && x < img.width && y < img.height)
    img.setRGB(x, y, c.r, c.g, c.b);
}

void drawText(Image &img, int64_t x, int64_t y, const std::string &text, Color c) {
  sparta::drawText(img, x, y, text, c.r, c.g, c.b, kTextScale);
}

int64_t textWidth(const std::string &text) { return sparta::textWidth(text, kTextScale); }

struct Rect {
  int64_t x0, y0, x1, y1; // inclusive
  bool contains(int64_t x, int64_t y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
};

/// A line about 2 pixels thick, clipped to `clip`.
void drawLine(Image &img, double xa, double ya, double xb, double yb, Color c, const Rect &clip) {
  double steps = std::max(std::abs(xb - xa), std::abs(yb - ya)) * 2 + 1;
  if (!(steps < 1e6)) // a NaN or a wild value: skip rather than spin
    return;
  for (int64_t i = 0; i <= int64_t(steps); ++i) {
    double t = i / steps;
    int64_t x = int64_t(std::lround(xa + (xb - xa) * t)),
            y = int64_t(std::lround(ya + (yb - ya) * t));
    for (int64_t dy = 0; dy < 2; ++dy)
      for (int64_t dx = 0; dx < 2; ++dx)
        if (clip.contains(x + dx, y + dy))
          fill(img, x + dx, y + dy, c);
  }
}

/// A 1-2-5 step giving about `target` intervals over `range`.
double niceStep(double range, int target) {
  double raw = range / target;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / magnitude;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * magnitude;
}

std::string tickLabel(double v, double step) {
  int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  std::string s = fmt::format("{:.{}f}", v, decimals);
  return s == "-0" ? "0" : s;
}

} // namespace

void plotChart(const std::vector<PlotSeries> &series, const std::string &pngPath,
               const ChartOptions &options) {
  if (options.width < 200 || options.height < 150)
    throw Error(fmt::format("a plot needs at least 200x150 pixels (got {}x{})", options.width,
                            options.height));
  for (const PlotSeries &s : series)
    if (s.x.size() != s.y.size())
      throw Error(fmt::format("plot series '{}' has {} x values and {} y values", s.label, s.x.size(),
                              s.y.size()));
  auto finite = [](const PlotSeries &s, size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); };
  double xMin = 1e300, xMax = -1e300;
  for (const PlotSeries &s : series)
    for (size_t i = 0; i < s.x.size(); ++i)
      if (finite(s, i))
        xMin = std::min(xMin, s.x[i]), xMax = std::max(xMax, s.x[i]);
  double yMin = 0, yMax = 1;
  if (xMin > xMax) {
    xMin = 0, xMax = 1;
  } else {
    // The y range covers the points after the first 5% of the x range: the
    // first steps' loss (8 bits/byte) would otherwise flatten the interesting
    // part of the curve into the bottom few pixels. Earlier points are clipped.
    double skipBelow = xMin + 0.05 * (xMax - xMin);
    double lo = 1e300, hi = -1e300, hiAll = -1e300;
    for (const PlotSeries &s : series)
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (!finite(s, i))
          continue;
        lo = std::min(lo, s.y[i]);
        hiAll = std::max(hiAll, s.y[i]);
        if (s.x[i] >= skipBelow)
          hi = std::max(hi, s.y[i]);
      }
    if (hi < lo)
      hi = hiAll;
    yMin = lo, yMax = hi;
    if (xMax <= xMin)
      xMax = xMin + 1;
    if (yMax - yMin < 1e-9)
      yMin -= 0.5, yMax += 0.5;
    double pad = 0.05 * (yMax - yMin);
    yMin -= pad, yMax += pad;
  }

  Image img(options.width, options.height, 3, 255);
  const Rect plot{84, options.title.empty() ? 44 : 64, options.width - 24, options.height - 56};
  auto px = [&](double x) { return plot.x0 + (x - xMin) / (xMax - xMin) * (plot.x1 - plot.x0); };
  auto py = [&](double y) { return plot.y1 - (y - yMin) / (yMax - yMin) * (plot.y1 - plot.y0); };
  const Rect whole{0, 0, options.width - 1, options.height - 1};

  double xStep = niceStep(xMax - xMin, 6), yStep = niceStep(yMax - yMin, 6);
  for (double x = std::ceil(xMin / xStep) * xStep; x <= xMax + 1e-9 * xStep; x += xStep) {
    drawLine(img, px(x), plot.y0, px(x), plot.y1, kGrid, plot);
    std::string label = tickLabel(x, xStep);
    // Centred under the tick, but kept inside the image at the right edge.
    int64_t lx =
        std::min(int64_t(px(x)) - textWidth(label) / 2, options.width - 2 - textWidth(label));
    drawText(img, lx, plot.y1 + 10, label, kText);
  }
  for (double y = std::ceil(yMin / yStep) * yStep; y <= yMax + 1e-9 * yStep; y += yStep) {
    drawLine(img, plot.x0, py(y), plot.x1, py(y), kGrid, plot);
    std::string label = tickLabel(y, yStep);
    drawText(img, plot.x0 - 8 - textWidth(label), int64_t(py(y)) - kCharHeight / 2, label, kText);
  }
  drawLine(img, plot.x0, plot.y1, plot.x1, plot.y1, kBlack, whole);
  drawLine(img, plot.x0, plot.y0, plot.x0, plot.y1, kBlack, whole);

  for (size_t k = 0; k < series.size(); ++k) {
    const PlotSeries &s = series[k];
    const Color c = kPalette[k % kPaletteSize];
    bool havePrevious = false;
    double lastX = 0, lastY = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!finite(s, i))
        continue;
      double x = px(s.x[i]), y = py(s.y[i]);
      if (havePrevious)
        drawLine(img, lastX, lastY, x, y, c, plot);
      havePrevious = true, lastX = x, lastY = y;
      if (s.markers)
        for (int64_t dy = -3; dy <= 3; ++dy)
          for (int64_t dx = -3; dx <= 3; ++dx)
            if (plot.contains(int64_t(x) + dx, int64_t(y) + dy))
              fill(img, int64_t(x) + dx, int64_t(y) + dy, c);
    }
  }

  drawText(img, 8, plot.y0 - kCharHeight - 8, options.yLabel, kText);
  drawText(img, (plot.x0 + plot.x1) / 2 - textWidth(options.xLabel) / 2, plot.y1 + 34, options.xLabel,
           kText);
  if (!options.title.empty())
    drawText(img, plot.x0, 14, options.title, kBlack);
  // Legend: one row per series (a colored bar and its label) in a framed box
  // at the top right of the plot area, where falling curves leave room.
  if (!series.empty()) {
    int64_t widest = 0;
    for (const PlotSeries &s : series)
      widest = std::max(widest, textWidth(s.label));
    const int64_t rowH = kCharHeight + 8, boxW = widest + 50, boxH = int64_t(series.size()) * rowH + 8;
    const Rect box{plot.x1 - 8 - boxW, plot.y0 + 8, plot.x1 - 8, plot.y0 + 8 + boxH};
    for (int64_t y = box.y0; y <= box.y1; ++y)
      for (int64_t x = box.x0; x <= box.x1; ++x)
        fill(img, x, y, y == box.y0 || y == box.y1 || x == box.x0 || x == box.x1 ? kLegendBox
                                                                                 : Color{255, 255, 255});
    for (size_t k = 0; k < series.size(); ++k) {
      int64_t ty = box.y0 + 8 + int64_t(k) * rowH;
      drawLine(img, box.x0 + 10, ty + kCharHeight / 2, box.x0 + 34, ty + kCharHeight / 2,
               kPalette[k % kPaletteSize], whole);
      drawText(img, box.x0 + 42, ty, series[k].label, kText);
    }
  }
  writePng(pngPath, img);
}

void plotLossCurves(const std::vector<MetricsRecord> &records, const std::string &pngPath,
                    const PlotOptions &options) {
  PlotSeries train{"TRAIN", {}, {}, false}, valid{"VALIDATION", {}, {}, true};
  for (const MetricsRecord &r : records) {
    PlotSeries &s = r.split == "train" ? train : valid;
    s.x.push_back(double(r.step));
    s.y.push_back(options.plotBits ? r.bits : r.loss);
  }
  ChartOptions chart;
  chart.width = options.width, chart.height = options.height, chart.title = options.title;
  chart.xLabel = "STEP";
  chart.yLabel = options.plotBits ? "BITS" : "LOSS (NATS)";
  plotChart({train, valid}, pngPath, chart);
}

void writeImageGrid(const std::string &pngPath, const std::vector<uint8_t> &pixels, int64_t count,
                    int64_t width, int64_t height, int64_t columns, int scale) {
  if (count <= 0 || width <= 0 || height <= 0 || scale <= 0 || columns < 0)
    throw Error(
        fmt::format("bad image grid: {} images of {}x{} at scale {}", count, width, height, scale));
  if (int64_t(pixels.size()) < count * width * height)
    throw Error(fmt::format("an image grid of {} images of {}x{} needs {} bytes, got {}", count,
                            width, height, count * width * height, pixels.size()));
  if (columns == 0)
    columns = int64_t(std::ceil(std::sqrt(double(count))));
  int64_t rows = (count + columns - 1) / columns;
  const int64_t border = 2, cellW = width * scale + border, cellH = height * scale + border;
  Image img(columns * cellW + border, rows * cellH + border, 1, 128);
  for (int64_t i = 0; i < count; ++i) {
    int64_t ox = border + (i % columns) * cellW, oy = border + (i / columns) * cellH;
    const uint8_t *src = pixels.data() + i * width * height;
    for (int64_t y = 0; y < height * scale; ++y)
      for (int64_t x = 0; x < width * scale; ++x)
        img.setGray(ox + x, oy + y, src[(y / scale) * width + x / scale]);
  }
  writePng(pngPath, img);
}

} // namespace sparta::model
