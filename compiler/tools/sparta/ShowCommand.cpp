//===- ShowCommand.cpp - sparta show: the layout as text and as a PNG -----===//
//
// Text: each head as a grid of at most --cells x --cells characters (one per
// position when T is small enough, otherwise each cell covers a square range
// of positions): '#' every pair of the cell's domain allowed, '+' some, '.'
// none; in a causal pattern blank above the diagonal (no pair j <= i). A
// bidirectional pattern has no blank cells.
//
// PNG (--png OUT): the heads side by side, each labelled "head K", one pixel
// per (query, key) up to T = 1024 (small T magnified to at least 256 pixels),
// one pixel per square of positions beyond, drawn like the text's cells (all,
// some or none allowed), so that a sparse head stays visible at any T.
//
//===----------------------------------------------------------------------===//
#include "sparta/cli/PatternArguments.h"
#include "sparta/MaskRows.h"
#include "sparta/Png.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace sparta::cli {

static constexpr int64_t kMaxShowT = 65536;
/// Beyond this T a pixel of the picture covers a square of positions.
static constexpr int64_t kMaxPictureCells = 1024;

/// The mask summed over an n x n grid of cells: cell (r, c) covers queries
/// [bounds[r], bounds[r+1]) and keys [bounds[c], bounds[c+1]), with
/// bounds[k] = k*T/n.
struct CellGrid {
  int64_t n = 0;
  std::vector<int64_t> bounds;
  std::vector<int64_t> allowed; // allowed pairs per cell, row-major
  std::vector<int64_t> domain;  // pairs of the domain (j <= i when causal) per cell
};

static CellGrid cellGrid(const Mask &mask, int64_t T, int64_t n, bool causal) {
  CellGrid grid;
  grid.n = n;
  for (int64_t k = 0; k <= n; ++k)
    grid.bounds.push_back(k * T / n);
  grid.allowed.assign(n * n, 0);
  grid.domain.assign(n * n, 0);
  std::vector<uint64_t> row(wordsFor(T));
  int64_t r = 0;
  for (int64_t i = 0; i < T; ++i) {
    while (i >= grid.bounds[r + 1])
      ++r;
    fillMaskRow(mask, T, i, row.data(), causal);
    for (int64_t c = 0; c < n; ++c) {
      const int64_t begin = grid.bounds[c];
      const int64_t end = std::min(grid.bounds[c + 1], rowEnd(T, i, causal));
      if (begin >= end)
        break;
      grid.allowed[r * n + c] += countBits(row.data(), begin, end);
      grid.domain[r * n + c] += end - begin;
    }
  }
  return grid;
}

static void printGrid(std::ostream &out, const CellGrid &grid) {
  for (int64_t r = 0; r < grid.n; ++r) {
    std::string line;
    for (int64_t c = 0; c < grid.n; ++c) {
      const int64_t a = grid.allowed[r * grid.n + c], k = grid.domain[r * grid.n + c];
      line += k == 0 ? ' ' : a == 0 ? '.' : a == k ? '#' : '+';
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
}

/// One head's panel of the picture, `scale` pixels per cell at (x0, y0). Each
/// cell is drawn like a character of the text: ink when every pair of its
/// domain is allowed, a lighter blue when some are (so that a sparse head stays
/// visible however far the picture is scaled down), a tint when none are,
/// white where the domain holds no pair (above the diagonal, causal).
static void drawPanel(Image &image, const CellGrid &grid, int64_t scale, int64_t x0, int64_t y0) {
  const uint8_t white[3] = {255, 255, 255}, tint[3] = {222, 232, 248}, some[3] = {80, 120, 210},
                ink[3] = {20, 28, 70};
  for (int64_t r = 0; r < grid.n; ++r)
    for (int64_t c = 0; c < grid.n; ++c) {
      const int64_t a = grid.allowed[r * grid.n + c], k = grid.domain[r * grid.n + c];
      const uint8_t *rgb = k == 0 ? white : a == 0 ? tint : a == k ? ink : some;
      for (int64_t dy = 0; dy < scale; ++dy)
        for (int64_t dx = 0; dx < scale; ++dx)
          image.setRGB(x0 + c * scale + dx, y0 + r * scale + dy, rgb[0], rgb[1], rgb[2]);
    }
}

static void writePicture(const std::string &path, const ConcretePattern &pattern,
                         const std::vector<int64_t> &heads) {
  const int64_t T = pattern.T;
  const int64_t cells = std::min<int64_t>(T, kMaxPictureCells);
  const int64_t scale = T >= 256 ? 1 : (256 + T - 1) / T; // small T magnified
  const int64_t size = cells * scale, margin = 8, gap = 16, border = 1;
  const int labelScale = 2;
  const int64_t labelHeight = kGlyphHeight * labelScale + 6; // the text and a gap below it
  const int64_t panels = static_cast<int64_t>(heads.size());
  Image image(2 * margin + panels * (size + 2 * border) + (panels - 1) * gap,
              2 * margin + labelHeight + size + 2 * border, 3, 255);
  for (int64_t k = 0; k < panels; ++k) {
    const int64_t x0 = margin + k * (size + 2 * border + gap), y0 = margin + labelHeight;
    drawText(image, x0, margin, "head " + std::to_string(heads[k]), 40, 40, 40, labelScale);
    // A grey frame around each panel, then the panel inside it.
    for (int64_t d = 0; d < size + 2 * border; ++d) {
      image.setRGB(x0 + d, y0, 150, 150, 150);
      image.setRGB(x0 + d, y0 + size + 1, 150, 150, 150);
      image.setRGB(x0, y0 + d, 150, 150, 150);
      image.setRGB(x0 + size + 1, y0 + d, 150, 150, 150);
    }
    CellGrid grid = cellGrid(pattern.heads[heads[k]], T, cells, pattern.causal);
    drawPanel(image, grid, scale, x0 + border, y0 + border);
  }
  writePng(path, image);
}

static int runShow(const Arguments &args) {
  const int64_t maxCells = args.integer("cells");
  ConcretePattern pattern = loadPatternArgument(args);
  const int64_t T = pattern.T;
  if (T > kMaxShowT)
    throw Error("T = " + std::to_string(T) + " is too large for 'sparta show' (at most " +
                std::to_string(kMaxShowT) + ")");
  const int64_t n = static_cast<int64_t>(pattern.heads.size());
  std::vector<int64_t> heads;
  if (args.has("head")) {
    const int64_t head = args.integer("head");
    if (head < 0 || head >= n)
      throw Error("--head " + std::to_string(head) + " is out of range: pattern '" +
                  pattern.name + "' has " + std::to_string(n) + (n == 1 ? " head" : " heads"));
    heads.push_back(head);
  } else {
    for (int64_t h = 0; h < n; ++h)
      heads.push_back(h);
  }

  // The picture first, so that a file that cannot be written fails before any output.
  std::string png;
  if (args.has("png")) {
    png = args.text("png");
    if (png.empty())
      throw UsageError("--png needs a file name");
    writePicture(png, pattern, heads);
  }

  const int64_t cells = std::min(T, maxCells);
  std::cout << "pattern: " << pattern.name << "\n";
  std::cout << "T: " << T << "\n";
  if (cells == T)
    std::cout << "cell: 1 position\n";
  else
    std::cout << "cell: about " << T / cells << "x" << T / cells << " positions (" << cells
              << "x" << cells << " cells)\n";
  if (!pattern.causal)
    std::cout << "direction: bidirectional\n";
  std::cout << "legend: '#' all allowed, '+' some allowed, '.' none allowed"
            << (pattern.causal ? ", blank above the diagonal" : "") << "\n";
  for (int64_t head : heads) {
    std::cout << "head " << head << ": " << toString(pattern.heads[head]) << "\n";
    printGrid(std::cout, cellGrid(pattern.heads[head], T, cells, pattern.causal));
  }
  if (!png.empty())
    std::cout << "png: " << png << "\n";
  return 0;
}

SPARTA_COMMAND({"show", "draw the pattern's heads as text and, with --png, as a picture",
                "FILE [--set NAME=VALUE]... [--pattern NAME] [--head K] [--cells N] "
                "[--png OUT.png]",
                withPatternOptions({
                    Option::integer("head", "K", {}, "show only head K").derivedDefault("every head"),
                    Option::integer("cells", "N", {1, 1024},
                                    "at most N x N characters per head in the text")
                        .byDefault("64"),
                    Option::text("png", "OUT.png", "also write the heads side by side as a PNG picture"),
                }),
                runShow});

} // namespace sparta::cli
