//===- TempDir.h - Temporary directories and whole files for the unit tests -===//
//
// Shared by the unit tests that write files (CheckpointTest.cpp,
// MetricsTest.cpp, DataTest.cpp, KernelCacheTest.cpp): a fresh directory per
// use, made with mkdtemp under GoogleTest's temporary directory, either scoped
// (TempDir, removed when it goes) or living until the test program exits
// (tempDir()), and whole-file binary reads and writes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h> // mkdtemp

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace sparta::testing {

/// A fresh, empty directory, removed with its contents when this object goes.
struct TempDir {
  std::filesystem::path path;

  explicit TempDir(const std::string &prefix = "sparta-test") {
    std::string tmpl = ::testing::TempDir() + prefix + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back(0);
    EXPECT_NE(mkdtemp(buf.data()), nullptr) << tmpl;
    path = buf.data();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
};

/// A fresh directory, removed with its contents when the test program exits.
inline std::string tempDir(const std::string &prefix = "sparta-test") {
  static std::vector<std::unique_ptr<TempDir>> made;
  made.push_back(std::make_unique<TempDir>(prefix));
  return made.back()->path.string();
}

/// The bytes of the file at `path` ("" when it cannot be read).
inline std::string readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Replaces the file at `path` with `bytes`.
inline void writeFile(const std::filesystem::path &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

} // namespace sparta::testing
