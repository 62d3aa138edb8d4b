//===- plot.cpp - sparta-plot: a line chart PNG from a JSON description ----===//
//
//   sparta-plot CHART.json OUT.png
//
// CHART.json:
//   {"title": "...", "x_label": "...", "y_label": "...",      (all optional)
//    "width": 900, "height": 540,                             (optional)
//    "series": [{"label": "dense", "x": [..], "y": [..], "markers": true}, ...]}
// A null coordinate (a non-finite value) is skipped. Drawn by the model
// library's chart code (Metrics.h's plotChart), the look of sparta-train's
// loss.png, so no plotting package is needed; examples/compare.py uses it.
//
// Exit status: 0 written, 2 bad arguments or a bad chart file, 1 any other
// error (the PNG cannot be written).
//
//===----------------------------------------------------------------------===//
#include "sparta/Error.h"
#include "sparta/model/Json.h"
#include "sparta/model/Metrics.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

using namespace sparta;
using namespace sparta::model;

namespace {

struct BadInput : Error {
  using Error::Error;
};

const char *kUsage = "usage: sparta-plot CHART.json OUT.png   (the chart format: examples/plot/plot.cpp)\n";

std::vector<double> numbers(const JsonValue &v, const std::string &where) {
  if (!v.isArray()) throw BadInput(where + " must be an array of numbers");
  std::vector<double> out;
  for (const JsonValue &item : v.items) {
    if (item.isNull()) out.push_back(std::numeric_limits<double>::quiet_NaN());
    else if (item.isNumber()) out.push_back(item.number);
    else throw BadInput(where + " must be an array of numbers");
  }
  return out;
}

std::string text(const JsonValue &root, const char *key, const std::string &def, const std::string &what) {
  const JsonValue *v = root.find(key);
  if (!v) return def;
  if (!v->isString()) throw BadInput(what + ": \"" + key + "\" must be a string");
  return v->text;
}

int size(const JsonValue &root, const char *key, int def, const std::string &what) {
  const JsonValue *v = root.find(key);
  if (!v) return def;
  if (!v->isNumber()) throw BadInput(what + ": \"" + key + "\" must be a number");
  return int(v->number);
}

ChartOptions chartOptions(const JsonValue &root, const std::string &what) {
  ChartOptions o;
  o.title = text(root, "title", "", what);
  o.xLabel = text(root, "x_label", o.xLabel, what);
  o.yLabel = text(root, "y_label", o.yLabel, what);
  o.width = size(root, "width", o.width, what);
  o.height = size(root, "height", o.height, what);
  return o;
}

std::vector<PlotSeries> chartSeries(const JsonValue &root, const std::string &what) {
  const JsonValue *list = root.find("series");
  if (!list || !list->isArray()) throw BadInput(what + ": \"series\" must be an array");
  std::vector<PlotSeries> series;
  for (size_t i = 0; i < list->items.size(); ++i) {
    const JsonValue &s = list->items[i];
    const std::string where = what + ": series " + std::to_string(i);
    if (!s.isObject()) throw BadInput(where + " must be an object");
    PlotSeries p;
    p.label = text(s, "label", "", where);
    const JsonValue *x = s.find("x"), *y = s.find("y");
    if (!x || !y) throw BadInput(where + " needs \"x\" and \"y\"");
    p.x = numbers(*x, where + " \"x\"");
    p.y = numbers(*y, where + " \"y\"");
    if (p.x.size() != p.y.size())
      throw BadInput(where + " has " + std::to_string(p.x.size()) + " x values and " +
                     std::to_string(p.y.size()) + " y values");
    if (const JsonValue *m = s.find("markers")) p.markers = m->kind == JsonValue::Kind::Bool && m->boolean;
    series.push_back(std::move(p));
  }
  return series;
}

} // namespace

int main(int argc, char **argv) {
  const bool help = argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h");
  if (help || argc != 3) {
    std::fputs(kUsage, help ? stdout : stderr);
    return help ? 0 : 2;
  }
  const std::string chartPath = argv[1], pngPath = argv[2];
  try {
    std::ifstream in(chartPath, std::ios::binary);
    if (!in) throw BadInput("cannot read the chart file '" + chartPath + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    JsonValue root;
    try {
      root = parseJson(ss.str(), chartPath);
    } catch (const Error &e) {
      throw BadInput(e.what());
    }
    if (!root.isObject()) throw BadInput(chartPath + ": a chart must be a JSON object");
    ChartOptions options = chartOptions(root, chartPath);
    std::vector<PlotSeries> series = chartSeries(root, chartPath);
    if (options.width < 200 || options.height < 150)
      throw BadInput(chartPath + ": a chart needs at least 200x150 pixels");
    plotChart(series, pngPath, options);
    std::printf("wrote %s (%zu series)\n", pngPath.c_str(), series.size());
    return 0;
  } catch (const BadInput &e) {
    std::fprintf(stderr, "sparta-plot: %s\n", e.what());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sparta-plot: %s\n", e.what());
    return 1;
  }
}
