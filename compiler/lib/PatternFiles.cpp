//===- PatternFiles.cpp - Resolving shipped pattern names -------------------===//
#include "sparta/PatternFiles.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <vector>

namespace sparta {
namespace {

bool isFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string parentOf(const std::string &path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

/// The candidate folders, in lookup order.
std::vector<std::string> candidateDirectories() {
  std::vector<std::string> dirs;
  if (const char *env = std::getenv("SPARTA_PATTERNS_DIR"); env && *env)
    dirs.emplace_back(env);
  // The shared object holding this function: libsparta or libsparta-c in lib/.
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&patternsDirectory), &info) && info.dli_fname)
    dirs.push_back(parentOf(parentOf(info.dli_fname)) + "/share/sparta/patterns");
  dirs.emplace_back(SPARTA_SOURCE_PATTERNS_DIR);
  return dirs;
}

} // namespace

std::string patternsDirectory() {
  for (const std::string &dir : candidateDirectories())
    if (isDirectory(dir))
      return dir;
  return {};
}

std::string findPatternFile(const std::string &pathOrName) {
  if (isFile(pathOrName) || pathOrName.empty() || pathOrName.find('/') != std::string::npos)
    return pathOrName;
  const bool hasSuffix =
      pathOrName.size() > 5 && pathOrName.compare(pathOrName.size() - 5, 5, ".mlir") == 0;
  const std::string file = hasSuffix ? pathOrName : pathOrName + ".mlir";
  for (const std::string &dir : candidateDirectories())
    if (isFile(dir + "/" + file))
      return dir + "/" + file;
  return pathOrName;
}

} // namespace sparta
