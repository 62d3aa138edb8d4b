//===- Packing.cpp - Translation periods and document ids ------------------===//
//
// See Packing.h. The period rules are checked against the reference
// semantics by brute force (tests/unit/PackingTest.cpp).
//
//===----------------------------------------------------------------------===//
#include "sparta/Packing.h"

#include "sparta/Error.h"

#include <fmt/format.h>

#include <numeric>

namespace sparta {

std::optional<int64_t> translationPeriod(const Mask &mask) {
  switch (mask.kind) {
  case MaskKind::Dense:
  case MaskKind::Empty:
  case MaskKind::Band:
  case MaskKind::Stride:
    return 1;
  case MaskKind::Chunk:
    return mask.size > 0 ? std::optional<int64_t>(mask.size) : std::nullopt;
  case MaskKind::Summary:
    return mask.period > 0 ? std::optional<int64_t>(mask.period) : std::nullopt;
  case MaskKind::GlobalKeys:
  case MaskKind::GlobalQueries:
  case MaskKind::RandomBlocks:
  case MaskKind::GridWindow:
    return std::nullopt;
  case MaskKind::Union:
  case MaskKind::Intersect: {
    int64_t period = 1;
    for (const Mask &operand : mask.operands) {
      std::optional<int64_t> p = translationPeriod(operand);
      if (!p)
        return std::nullopt;
      period = std::lcm(period, *p);
    }
    return period;
  }
  }
  return std::nullopt;
}

std::optional<int64_t> translationPeriod(const ConcretePattern &pattern, int64_t head) {
  if (pattern.heads.empty() || head < 0 || pattern.masksUseT)
    return std::nullopt;
  return translationPeriod(pattern.heads[head % int64_t(pattern.heads.size())]);
}

std::optional<int64_t> translationPeriod(const ConcretePattern &pattern) {
  int64_t period = 1;
  for (int64_t h = 0; h < int64_t(pattern.heads.size()); ++h) {
    std::optional<int64_t> p = translationPeriod(pattern, h);
    if (!p)
      return std::nullopt;
    period = std::lcm(period, *p);
  }
  return pattern.heads.empty() ? std::nullopt : std::optional<int64_t>(period);
}

std::string packingRefusal(const ConcretePattern &pattern) {
  if (pattern.masksUseT)
    return fmt::format("pattern '{}' cannot pack documents: its masks derive from T", pattern.name);
  for (size_t h = 0; h < pattern.heads.size(); ++h)
    if (!translationPeriod(pattern.heads[h]))
      return fmt::format("pattern '{}' cannot pack documents: mask {} ({}) is tied to absolute "
                         "positions (it has no translation period)",
                         pattern.name, h, toString(pattern.heads[h]));
  return pattern.heads.empty() ? fmt::format("pattern '{}' has no heads", pattern.name) : "";
}

std::vector<int32_t> documentIds(const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t T,
                                 int64_t period) {
  if (B < 1 || cuSeqlens.size() % size_t(B) != 0 || cuSeqlens.size() / size_t(B) < 2)
    throw Error(fmt::format("cu_seqlens: {} values do not make {} rows of N + 1 >= 2 boundaries",
                            cuSeqlens.size(), B));
  const int64_t bounds = int64_t(cuSeqlens.size()) / B;
  std::vector<int32_t> ids(size_t(B * T));
  for (int64_t b = 0; b < B; ++b) {
    const int32_t *cu = &cuSeqlens[size_t(b * bounds)];
    if (cu[0] != 0)
      throw Error(fmt::format("cu_seqlens row {}: the first boundary is {}, not 0", b, cu[0]));
    if (cu[bounds - 1] != T)
      throw Error(fmt::format("cu_seqlens row {}: the last boundary is {}, not T = {}", b,
                              cu[bounds - 1], T));
    for (int64_t n = 1; n < bounds; ++n) {
      if (cu[n] < cu[n - 1])
        throw Error(fmt::format("cu_seqlens row {}: boundaries are not sorted ({} after {} at "
                                "index {})",
                                b, cu[n], cu[n - 1], n));
      if (cu[n] > T)
        throw Error(fmt::format("cu_seqlens row {}: boundary {} at index {} is past T = {}", b,
                                cu[n], n, T));
      if (n + 1 < bounds && cu[n] < cu[n + 1] && cu[n] % period != 0)
        throw Error(fmt::format("cu_seqlens row {}: a document starts at offset {}, not a "
                                "multiple of the pattern's period {}",
                                b, cu[n], period));
      for (int32_t t = cu[n - 1]; t < cu[n]; ++t)
        ids[size_t(b * T + t)] = int32_t(n - 1);
    }
  }
  return ids;
}

} // namespace sparta
