//===- Png.cpp - Writing 8-bit PNG images with stb_image_write -------------===//
//
// stb_image_write (Debian's libstb-dev) is compiled into libsparta from its
// single header: it needs no shared library at run time (Debian's libpng
// archive is not position-independent, and the GPU machine may lack libpng),
// and it reports failure through its return value.
//
//===----------------------------------------------------------------------===//
#include "sparta/Png.h"

#include "sparta/Error.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

#include <cerrno>
#include <cstring>

namespace sparta {

Image::Image(int64_t width, int64_t height, int channels, uint8_t value)
    : width(width), height(height), channels(channels),
      pixels(width > 0 && height > 0 && channels > 0
                 ? static_cast<size_t>(width * height * channels)
                 : 0,
             value) {}

void Image::setRGB(int64_t x, int64_t y, uint8_t r, uint8_t g, uint8_t b) {
  uint8_t *p = at(x, y);
  if (channels == 1) {
    p[0] = static_cast<uint8_t>((299 * r + 587 * g + 114 * b) / 1000);
    return;
  }
  p[0] = r;
  p[1] = g;
  p[2] = b;
}

void writePng(const std::string &path, const Image &image) {
  if (image.channels != 1 && image.channels != 3)
    throw Error("cannot write '" + path + "': a PNG image needs 1 or 3 channels, not " +
                std::to_string(image.channels));
  if (image.width <= 0 || image.height <= 0 || image.width > 0x7fffffff / 3 / image.height ||
      image.height > 0x7fffffff)
    throw Error("cannot write '" + path + "': bad image size " + std::to_string(image.width) +
                "x" + std::to_string(image.height));
  if (image.pixels.size() != static_cast<size_t>(image.width * image.height * image.channels))
    throw Error("cannot write '" + path + "': the image holds " +
                std::to_string(image.pixels.size()) + " bytes, not width*height*channels");

  errno = 0;
  int ok = stbi_write_png(path.c_str(), static_cast<int>(image.width),
                          static_cast<int>(image.height), image.channels, image.pixels.data(),
                          static_cast<int>(image.width * image.channels));
  if (!ok) {
    std::string why = errno ? std::strerror(errno) : "the image could not be encoded";
    throw Error("cannot write PNG file '" + path + "': " + why);
  }
}

} // namespace sparta
