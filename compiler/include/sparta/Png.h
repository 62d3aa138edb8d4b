//===- Png.h - 8-bit images: writing PNG files, drawing labels ------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparta {

/// An 8-bit image, rows top to bottom, channels interleaved.
struct Image {
  int64_t width = 0;
  int64_t height = 0;
  int channels = 1; // 1 (gray) or 3 (RGB)
  std::vector<uint8_t> pixels; // width * height * channels bytes

  Image() = default;
  /// An image filled with `value` in every channel.
  Image(int64_t width, int64_t height, int channels, uint8_t value = 255);

  uint8_t *at(int64_t x, int64_t y) { return &pixels[(y * width + x) * channels]; }
  void setGray(int64_t x, int64_t y, uint8_t v) { *at(x, y) = v; }
  void setRGB(int64_t x, int64_t y, uint8_t r, uint8_t g, uint8_t b);
};

/// Writes `image` as a PNG file (8-bit gray or RGB). Throws sparta::Error when
/// the image is malformed (bad size or channel count) or the file cannot be
/// written; the message names the file.
void writePng(const std::string &path, const Image &image);

/// The built-in bitmap font's glyphs: digits, letters (drawn as capitals) and
/// a little punctuation, each kGlyphWidth x kGlyphHeight font pixels.
constexpr int kGlyphWidth = 5, kGlyphHeight = 7;
/// Draws `text` into an RGB image with its top-left corner at (x, y), each
/// font pixel a `scale` x `scale` square, each character (kGlyphWidth + 1) *
/// scale pixels wide; pixels outside the image are skipped, characters the
/// font lacks (and spaces) leave a gap.
void drawText(Image &image, int64_t x, int64_t y, const std::string &text, uint8_t r, uint8_t g,
              uint8_t b, int scale);
/// The width drawText gives `text`.
int64_t textWidth(const std::string &text, int scale);

} // namespace sparta
