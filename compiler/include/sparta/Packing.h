//===- Packing.h - Documents packed into one sequence ----------------------===//
//
// Several documents can share one row of T positions when no query attends
// across a document boundary. The kernels' schedules are compiled for one T,
// so a document cannot get a plan of its own; instead every pair (i, j) is
// kept iff the T-pattern allows (i, j) and i, j lie in the same document.
// That equals the document-local pattern, query i and key j of a document
// starting at s allowed iff the pattern allows (i - s, j - s), when the mask
// is invariant under a shift by s:
//
//   allowed(i + s, j + s) == allowed(i, j)   for all positions in range.
//
// The translation period of a mask is the least p such that every multiple
// of p is such a shift (docs/pattern-language.md, "Packed documents"):
//
//   dense, empty, band, stride   1 (they depend on i - j only)
//   chunk(size)                  size
//   summary(period, w)           period
//   union, intersect             the lcm of the operands' periods
//   global_keys, global_queries,
//   random_blocks, grid_window   none: tied to absolute positions
//
// A pattern whose masks derive from T (ConcretePattern::masksUseT; grid ops
// included) has no period either: its masks mean something else for a
// shorter sequence. Documents must then start at multiples of the period.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/Pattern.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparta {

/// The translation period of one mask, std::nullopt when it has none.
std::optional<int64_t> translationPeriod(const Mask &mask);

/// The period of the mask head `head` uses (head mod the number of masks);
/// std::nullopt when it has none or the pattern's masks derive from T.
std::optional<int64_t> translationPeriod(const ConcretePattern &pattern, int64_t head);

/// The lcm of every head's period: what every document start must be a
/// multiple of. std::nullopt: the pattern cannot pack documents.
std::optional<int64_t> translationPeriod(const ConcretePattern &pattern);

/// Why the pattern cannot pack documents ("" when it can), for messages.
std::string packingRefusal(const ConcretePattern &pattern);

/// Checks the document boundaries of B rows of T positions, cuSeqlens
/// [B, N + 1] row-major (cu[b][0] = 0, nondecreasing, cu[b][N] = T, the
/// start of every non-empty document a multiple of `period`), and returns the document of every token,
/// [B, T]: row b's token t lies in document n iff cu[b][n] <= t < cu[b][n + 1]
/// (empty documents own no token). Throws sparta::Error naming the row, the
/// offset and the rule broken.
std::vector<int32_t> documentIds(const std::vector<int32_t> &cuSeqlens, int64_t B, int64_t T,
                                 int64_t period);

} // namespace sparta
