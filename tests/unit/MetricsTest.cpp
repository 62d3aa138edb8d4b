//===- MetricsTest.cpp - JSON, metrics JSONL, plots, image grids, progress -===//
//
// The PNGs are decoded again (stb_image, header-only from libstb-dev) so the
// tests check what was drawn, not only that a file appeared.
//
//===----------------------------------------------------------------------===//
#include "TempDir.h"

#include "sparta/model/Metrics.h"
#include "sparta/Error.h"
#include "sparta/model/Json.h"
#include "sparta/model/Progress.h"

#include <gtest/gtest.h>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::testing;

namespace {

struct Decoded {
  int w = 0, h = 0, channels = 0;
  std::vector<uint8_t> px;
  const uint8_t *at(int x, int y) const { return px.data() + (size_t(y) * w + x) * channels; }
};

Decoded decode(const std::string &path) {
  Decoded d;
  stbi_uc *data = stbi_load(path.c_str(), &d.w, &d.h, &d.channels, 0);
  EXPECT_NE(data, nullptr) << "not a PNG: " << path;
  if (data) {
    d.px.assign(data, data + size_t(d.w) * d.h * d.channels);
    stbi_image_free(data);
  }
  return d;
}

/// A run: training loss decaying from 5.5 nats, validation every 100 steps.
std::vector<MetricsRecord> fakeRun() {
  std::vector<MetricsRecord> rs;
  for (int64_t s = 0; s <= 1000; s += 10) {
    MetricsRecord r;
    r.step = s;
    r.loss = 1.2 + 4.3 * std::exp(-s / 60.0);
    r.bits = r.loss / std::log(2.0);
    r.lr = 3e-4;
    r.gradNorm = 0.9;
    r.tokensPerSec = 1e6;
    r.elapsedSec = s * 0.1;
    rs.push_back(r);
    if (s % 100 == 0) {
      r.split = "validation";
      r.loss += 0.05;
      r.bits = r.loss / std::log(2.0);
      r.lr.reset();
      r.gradNorm.reset();
      r.tokensPerSec.reset();
      rs.push_back(r);
    }
  }
  return rs;
}

} // namespace

TEST(Json, ParsesWhatTheFilesContain) {
  JsonValue v =
      parseJson(R"( {"a": [1, -2.5e3, true, false, null], "s": "x\"\\\n\u00e9\ud83d\ude00",
                             "big": 18446744073709551615, "neg": -9223372036854775808} )",
                "t");
  ASSERT_TRUE(v.isObject());
  const JsonValue *a = v.find("a");
  ASSERT_TRUE(a && a->isArray() && a->items.size() == 5);
  EXPECT_EQ(a->items[0].asInt(), 1);
  EXPECT_EQ(a->items[1].number, -2500);
  EXPECT_TRUE(a->items[2].boolean);
  EXPECT_TRUE(a->items[4].isNull());
  EXPECT_EQ(v.find("s")->text, "x\"\\\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(v.find("big")->asUnsigned(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(v.find("neg")->asInt(), std::numeric_limits<int64_t>::min());
  EXPECT_THROW(a->items[1].asInt(), Error);
  EXPECT_THROW(v.find("neg")->asUnsigned(), Error);
  for (const char *bad :
       {"", "{", "[1,]", "{\"a\" 1}", "01x", "\"\x01\"", "[1] 2", "nul", "\"\\q\""})
    EXPECT_THROW(parseJson(bad, "t"), Error) << bad;
  std::string deep(100, '[');
  EXPECT_THROW(parseJson(deep, "t"), Error);
  // Writers: quoting round-trips, numbers are exact, non-finite becomes null.
  std::string s = "tab\t \"q\" \\ \x01 nl\n";
  EXPECT_EQ(parseJson(jsonQuote(s), "t").text, s);
  EXPECT_EQ(parseJson(jsonNumber(0.1 + 0.2), "t").number, 0.1 + 0.2);
  EXPECT_EQ(jsonNumber(std::nan("")), "null");
}

TEST(Metrics, RecordsRoundTripThroughJsonl) {
  std::string path = tempDir() + "/metrics.jsonl";
  std::vector<MetricsRecord> run = fakeRun();
  MetricsRecord nan;
  nan.step = 1001;
  nan.loss = std::numeric_limits<double>::quiet_NaN();
  nan.bits = std::numeric_limits<double>::infinity();
  {
    MetricsWriter w(path);
    for (const MetricsRecord &r : run)
      w.write(r);
    w.write(nan);
    // Flushed per line: another reader sees every record before close.
    EXPECT_EQ(readMetrics(path).size(), run.size() + 1);
  }
  std::vector<MetricsRecord> back = readMetrics(path);
  ASSERT_EQ(back.size(), run.size() + 1);
  for (size_t i = 0; i < run.size(); ++i) {
    EXPECT_EQ(back[i].step, run[i].step);
    EXPECT_EQ(back[i].split, run[i].split);
    EXPECT_EQ(back[i].loss, run[i].loss);
    EXPECT_EQ(back[i].bits, run[i].bits);
    EXPECT_EQ(back[i].lr, run[i].lr);
    EXPECT_EQ(back[i].tokensPerSec, run[i].tokensPerSec);
    EXPECT_EQ(back[i].elapsedSec, run[i].elapsedSec);
  }
  EXPECT_TRUE(std::isnan(back.back().loss));
  std::string text = readFile(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), long(run.size() + 1));
  EXPECT_NE(text.find("{\"step\":0,\"split\":\"train\",\"loss\":5.5,"), std::string::npos)
      << text.substr(0, 200);
  EXPECT_THROW(parseMetricsLine("{\"loss\":1,\"bits\":2}", "x"), Error); // no step
  EXPECT_THROW(readMetrics(path + ".missing"), Error);
}

TEST(Metrics, ResumeDropsStepsAfterTheCheckpoint) {
  std::string path = tempDir() + "/metrics.jsonl";
  {
    MetricsWriter w(path);
    for (const MetricsRecord &r : fakeRun())
      w.write(r);
  }
  // The interrupted run died while writing a line.
  std::ofstream(path, std::ios::app) << "{\"step\":1010,\"split\":\"tr";
  {
    MetricsWriter w(path, 500);
    MetricsRecord r;
    r.step = 510;
    w.write(r);
  }
  std::vector<MetricsRecord> back = readMetrics(path);
  ASSERT_FALSE(back.empty());
  for (size_t i = 0; i + 1 < back.size(); ++i)
    EXPECT_LE(back[i].step, 500);
  EXPECT_EQ(back.back().step, 510);
  EXPECT_EQ(back.size(), 51u + 6u + 1u); // train 0..500, validation 0..500, the new record
}

TEST(Plot, LossCurvePngShowsBothCurves) {
  std::string path = tempDir() + "/loss.png";
  PlotOptions options;
  options.title = "gcide 8x512 T=4096";
  plotLossCurves(fakeRun(), path, options);
  std::string bytes = readFile(path);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  Decoded img = decode(path);
  ASSERT_EQ(img.w, 900);
  ASSERT_EQ(img.h, 540);
  ASSERT_EQ(img.channels, 3);
  const uint8_t *corner = img.at(img.w - 2, img.h - 2);
  EXPECT_EQ(corner[0] + corner[1] + corner[2], 3 * 255) << "white background";
  size_t blue = 0, red = 0, grid = 0;
  for (int y = 0; y < img.h; ++y)
    for (int x = 0; x < img.w; ++x) {
      const uint8_t *p = img.at(x, y);
      blue += p[0] == 31 && p[1] == 119 && p[2] == 180;
      red += p[0] == 214 && p[1] == 39 && p[2] == 40;
      grid += p[0] == 225 && p[1] == 225 && p[2] == 225;
    }
  EXPECT_GT(blue, 1000u) << "the training curve";
  EXPECT_GT(red, 300u) << "the validation curve and its markers";
  EXPECT_GT(grid, 2000u) << "the grid";
  // No data still gives a valid (empty) plot; a tiny canvas is refused.
  EXPECT_NO_THROW(plotLossCurves({}, path));
  options.width = 50;
  EXPECT_THROW(plotLossCurves(fakeRun(), path, options), Error);
}

TEST(Plot, ChartDrawsOneColorPerSeries) {
  std::string path = tempDir() + "/chart.png";
  // Three falling curves over different x ranges, one with a gap (NaN).
  std::vector<PlotSeries> series;
  const char *labels[] = {"dense", "fixed:L=128,c=32", "strided:L=128"};
  for (int k = 0; k < 3; ++k) {
    PlotSeries s;
    s.label = labels[k];
    s.markers = true;
    for (int i = 0; i <= 20; ++i) {
      s.x.push_back(i * (10.0 + 5 * k));
      s.y.push_back(i == 7 && k == 1 ? std::nan("") : 3.0 - 0.05 * i - 0.2 * k);
    }
    series.push_back(s);
  }
  ChartOptions options;
  options.xLabel = "WALL-CLOCK TIME (S)";
  options.yLabel = "VALIDATION BITS/BYTE";
  plotChart(series, path, options);
  Decoded img = decode(path);
  ASSERT_EQ(img.w, 900);
  const uint8_t colors[3][3] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}};
  for (int k = 0; k < 3; ++k) {
    size_t n = 0;
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x) {
        const uint8_t *p = img.at(x, y);
        n += p[0] == colors[k][0] && p[1] == colors[k][1] && p[2] == colors[k][2];
      }
    EXPECT_GT(n, 800u) << "series " << k << ": its line, markers and legend bar";
  }
  series[2].y.pop_back();
  try {
    plotChart(series, path, options);
    FAIL() << "a series with fewer y than x values was drawn";
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "plot series 'strided:L=128' has 21 x values and 20 y values");
  }
}

TEST(Plot, ImageGridPlacesEveryImage) {
  std::string path = tempDir() + "/samples.png";
  const int n = 10, side = 28;
  std::vector<uint8_t> pixels(n * side * side);
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < side * side; ++p)
      pixels[i * side * side + p] = uint8_t(i * 20 + p % 7);
  writeImageGrid(path, pixels, n, side, side, 4, 2);
  Decoded img = decode(path);
  ASSERT_EQ(img.channels, 1);
  ASSERT_EQ(img.w, 4 * (56 + 2) + 2);
  ASSERT_EQ(img.h, 3 * (56 + 2) + 2);
  for (int i = 0; i < n; ++i) {
    int ox = 2 + (i % 4) * 58, oy = 2 + (i / 4) * 58;
    // Pixel (x, y) of image i, scaled by 2.
    for (int p : {0, 3, 29, 783})
      EXPECT_EQ(*img.at(ox + 2 * (p % 28) + 1, oy + 2 * (p / 28) + 1), pixels[i * 784 + p])
          << "image " << i << " pixel " << p;
  }
  EXPECT_EQ(*img.at(0, 0), 128); // border
  EXPECT_THROW(writeImageGrid(path, pixels, n + 1), Error);
}

TEST(Progress, Formatting) {
  EXPECT_EQ(formatDuration(12.4), "12s");
  EXPECT_EQ(formatDuration(245), "4m05s");
  EXPECT_EQ(formatDuration(7380), "2h03m");
  EXPECT_EQ(formatDuration(-1), "?");
  EXPECT_EQ(formatRate(950), "950");
  EXPECT_EQ(formatRate(812345), "812.3k");
  EXPECT_EQ(formatRate(1.25e6), "1.25M");
  EXPECT_EQ(formatProgress(1200, 5000, 1.42134, 2.0506, "bits/byte", 812345, 245),
            "step 1200/5000  loss 1.4213  2.051 bits/byte  812.3k tok/s  ETA 4m05s");
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  std::FILE *f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressLine p(100, "bits/dim", f, /*tty=*/0, /*plainIntervalSec=*/3600);
    for (int s = 1; s <= 100; ++s)
      p.update(s, 1.0, 1.44, 1000);
    p.message("eval: 1.23 bits/dim");
  }
  std::rewind(f);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f))
    out += buf;
  std::fclose(f);
  // The first and the last step only (the interval is an hour), no "\r".
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("step 1/100"), std::string::npos);
  EXPECT_NE(out.find("step 100/100"), std::string::npos);
  EXPECT_NE(out.find("eval: 1.23 bits/dim\n"), std::string::npos);
}

TEST(Progress, RewritesInPlaceOnATerminal) {
  std::FILE *f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressLine p(3, "bits/byte", f, /*tty=*/1);
    p.update(1, 2.0, 2.88, 10);
    p.message("checkpoint saved");
    p.update(2, 1.9, 2.74, 10);
    p.update(3, 1.8, 2.6, 10);
  }
  std::rewind(f);
  std::string out;
  int c;
  while ((c = std::fgetc(f)) != EOF)
    out += char(c);
  std::fclose(f);
  EXPECT_EQ(out.rfind("\rstep 1/3", 0), 0u) << out;
  EXPECT_NE(out.find("\r\033[Kcheckpoint saved\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\rstep 3/3"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n'); // finish() ends the live line
}
