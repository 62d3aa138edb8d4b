//===- Validity.cpp - Reachability through k stacked layers ---------------===//
//
// For each query i (ascending), the set of positions reachable in s steps is a
// row of bits: S1 = row(i) of the top layer, S(s+1) = OR of row(p) of the next
// layer down over p in S(s). In a causal pattern every set lies within
// [0, i] and the query is satisfied once [0, i] is full; in a bidirectional
// one the target is all of [0, T). Rows are ORed in
// ascending p while tracking the lowest clear bit `low`: words below it are
// full and are skipped, which keeps the work near-linear for the paper's
// patterns (their rows fill from the bottom up). Within a step, ORing stops
// once the set is full.
//
//===----------------------------------------------------------------------===//
#include "sparta/Validity.h"

#include "sparta/Error.h"
#include "sparta/MaskRows.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sparta {

static constexpr int64_t kMaxValidityT = 65536;

Mask layerMask(const ConcretePattern &pattern, const ValidityOptions &options,
               int64_t layer) {
  const int64_t n = static_cast<int64_t>(pattern.heads.size());
  if (options.interleaved || n == 1)
    return pattern.heads[layer % n];
  Mask all;
  all.kind = MaskKind::Union;
  all.operands = pattern.heads;
  return all;
}

ValidityResult checkValidity(const ConcretePattern &pattern,
                             const ValidityOptions &options) {
  const int64_t T = pattern.T;
  const int64_t k = options.layers;
  const int64_t n = static_cast<int64_t>(pattern.heads.size());
  if (k < 1)
    throw Error("the number of layers must be at least 1, not " + std::to_string(k));
  if (n == 0)
    throw Error("pattern '" + pattern.name + "' has no heads");
  if (T <= 0)
    throw Error("T must be positive, not " + std::to_string(T));
  if (T > kMaxValidityT)
    throw Error("T = " + std::to_string(T) + " is too large for the validity analysis (at most " +
                std::to_string(kMaxValidityT) + ")");

  // One bit matrix per distinct mask index: 0 for the union, h for heads[h].
  const bool perHead = options.interleaved || n == 1;
  std::map<int64_t, std::unique_ptr<MaskMatrix>> matrices;
  std::vector<const MaskMatrix *> layer(k); // layer m's matrix
  for (int64_t m = 0; m < k; ++m) {
    int64_t index = perHead ? m % n : 0;
    auto &slot = matrices[index];
    if (!slot)
      slot = std::make_unique<MaskMatrix>(layerMask(pattern, options, m), T, pattern.causal);
    layer[m] = slot.get();
  }

  const int64_t W = wordsFor(T);
  std::vector<uint64_t> current(W), next(W);
  ValidityResult result;
  for (int64_t i = 0; i < T; ++i) {
    const int64_t end = rowEnd(T, i, pattern.causal); // the keys to reach: [0, end)
    const int64_t iw = ((end - 1) >> 6) + 1;           // words holding them
    // Step 1: the top layer's row.
    const uint64_t *top = layer[k - 1]->row(i);
    std::copy(top, top + iw, current.begin());
    int64_t low = firstClearBit(current.data(), 0, end);
    // Steps 2..k, through layers k-2 .. 0. (A full set is no reason to stop
    // before the last step: the next layer may map it to less.)
    for (int64_t m = k - 2; m >= 0; --m) {
      std::fill(next.begin(), next.begin() + iw, 0);
      int64_t nextLow = 0;
      const MaskMatrix &M = *layer[m];
      for (int64_t w = 0; w < iw && nextLow < end; ++w) {
        for (uint64_t bits = current[w]; bits && nextLow < end; bits &= bits - 1) {
          const int64_t p = (w << 6) + __builtin_ctzll(bits);
          const uint64_t *row = M.row(p);
          const int64_t pw = ((rowEnd(T, p, pattern.causal) - 1) >> 6) + 1;
          for (int64_t v = nextLow >> 6; v < pw; ++v)
            next[v] |= row[v];
          nextLow = firstClearBit(next.data(), nextLow, end);
        }
      }
      current.swap(next);
      low = nextLow;
    }
    if (low < end) {
      result.valid = false;
      result.query = i;
      result.key = low;
      return result;
    }
  }
  result.valid = true;
  return result;
}

} // namespace sparta
