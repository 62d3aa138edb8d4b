//===- CpuExecutor.cpp - Runs a Plan on the CPU the way the kernels will --===//
//
// See CpuExecutor.h. Each function below corresponds to one kernel (or one
// CTA loop of a kernel) and keeps its structure, so that reading this file is
// reading what the generated code does:
//
//   componentForward   forward kernel: CTA per (group, query tile), loop over
//                      the key tiles of fwdCount/fwdTile, online softmax
//   mergePartial       the log-sum-exp merge of a later component's partial
//                      result into the head's running O and lse
//   componentBackward  dK/dV kernel: CTA per (group, key tile) over the query
//                      tiles of bwdCount/bwdTile; dQ kernel: CTA per (group,
//                      query tile) over the forward list (deterministic dQ)
//
// Numerics are fp32 throughout, as in the kernels' accumulators.
//
//===----------------------------------------------------------------------===//
#include "sparta/CpuExecutor.h"

#include "sparta/Error.h"
#include "sparta/documents.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparta {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// One component's schedule plus its element predicate: what a kernel has
/// compiled in as constants.
struct Component {
  const PlanComponent &plan;
  tiling::TileSchedule s; // table pointers aimed at the component's vectors
  int64_t T;

  Component(const PlanComponent &c, int64_t T) : plan(c), s(c.hostSchedule()), T(T) {
    if (s.q.T != T || s.k.T != T)
      throw Error("cpu executor: a component's index maps are for another T");
  }

  /// Mapped positions [first, end) of tile t on one side of group g.
  static int tileEnd(const tiling::IndexMap &map, int g, int tile, int t) {
    return std::min((t + 1) * tile, map.len(g));
  }

  /// The element predicate of a partial tile, in mapped coordinates, bounds
  /// included. Band and prefix schedules carry it in closed form; table
  /// components evaluate their exact pair set in original coordinates.
  bool pairAllowed(int g, int qpos, int kpos) const {
    if (qpos >= s.q.len(g) || kpos >= s.k.len(g))
      return false;
    if (s.kind == tiling::kTable)
      return plan.covers(T, s.q.row(g, qpos), s.k.row(g, kpos));
    return s.allowed(g, qpos, kpos);
  }

  /// How listed pair (query tile qt, ref) of group g runs: documents::kSkip,
  /// else its full flag. Without documents (docs null) the schedule's flag;
  /// with them, the kernels' rule on the tiles' document spans (documents.h).
  int run(const int32_t *docs, int g, int qt, const tiling::TileRef &ref) const {
    if (!docs)
      return ref.full;
    auto span = [&](const tiling::IndexMap &map, int tile, int rows) {
      const int a = tile * rows, z = tileEnd(map, g, rows, tile) - 1;
      if (z < a)
        return documents::noRows();
      const tiling::RowSpan r = map.rowSpan(g, a, z);
      return documents::Span{docs[r.first], docs[r.last]};
    };
    return documents::pairFull(span(s.q, qt, s.qTile), span(s.k, ref.tile, s.kTile), ref.full);
  }

  /// Whether pair (qpos, kpos) of a listed pair that runs (`full` from run())
  /// is computed: full tiles skip the predicate entirely (the point of
  /// classifying them); partial ones test the document too.
  bool computes(int full, const int32_t *docs, int g, int qpos, int kpos) const {
    return full ? true
                : pairAllowed(g, qpos, kpos) &&
                      (!docs || docs[s.q.row(g, qpos)] == docs[s.k.row(g, kpos)]);
  }
};

float dot(const float *a, const float *b, int64_t d) {
  float sum = 0;
  for (int64_t x = 0; x < d; ++x)
    sum += a[x] * b[x];
  return sum;
}
} // namespace

//--- forward --------------------------------------------------------------------

void componentForward(const PlanComponent &component, int64_t T, int64_t d, const float *q,
                      const float *k, const float *v, float scale, float *o, float *lse,
                      const int32_t *docs) {
  Component c(component, T);
  const tiling::TileSchedule &s = c.s;
  const int M = s.qTile, N = s.kTile;
  std::fill(o, o + T * d, 0.0f);
  std::fill(lse, lse + T, kNegInf);
  for (int g = 0; g < s.q.groups(); ++g) {
    for (int qt = 0; qt < s.qTilesPerGroup(); ++qt) {
      // One CTA: the query tile's rows stay resident with their running max m,
      // running sum l and unnormalised output acc.
      const int qa = qt * M, qe = Component::tileEnd(s.q, g, M, qt);
      // Groups can be shorter than maxLen (strided, chunked maps with ragged
      // T): the CTA of a query tile with no rows in its group exits at once,
      // whatever its list says.
      if (qa >= qe)
        continue;
      std::vector<float> m(M, kNegInf), l(M, 0.0f), acc(size_t(M) * d, 0.0f), sc(N);
      for (int n = 0; n < s.fwdCount(g, qt); ++n) {
        const tiling::TileRef ref = s.fwdTile(g, qt, n);
        const int full = c.run(docs, g, qt, ref);
        if (full == documents::kSkip)
          continue; // documents that do not meet: the kernel loads nothing
        const int ka = ref.tile * N, ke = Component::tileEnd(s.k, g, N, ref.tile);
        for (int qpos = qa; qpos < qe; ++qpos) {
          const int r = qpos - qa;
          const float *qrow = q + int64_t(s.q.row(g, qpos)) * d;
          // Scores of this row against the key tile; masked entries are -inf.
          float tileMax = kNegInf;
          for (int kpos = ka; kpos < ke; ++kpos) {
            float x = c.computes(full, docs, g, qpos, kpos)
                          ? scale * dot(qrow, k + int64_t(s.k.row(g, kpos)) * d, d)
                          : kNegInf;
            sc[kpos - ka] = x;
            tileMax = std::max(tileMax, x);
          }
          const float mNew = std::max(m[r], tileMax);
          if (mNew == kNegInf)
            continue; // nothing allowed yet for this row
          // Online softmax: rescale what was accumulated under the old max.
          const float alpha = std::exp(m[r] - mNew); // exp(-inf) = 0 on the first hit
          float *a = &acc[size_t(r) * d];
          for (int64_t x = 0; x < d; ++x)
            a[x] *= alpha;
          l[r] *= alpha;
          for (int kpos = ka; kpos < ke; ++kpos) {
            if (sc[kpos - ka] == kNegInf)
              continue;
            const float p = std::exp(sc[kpos - ka] - mNew);
            l[r] += p;
            const float *vrow = v + int64_t(s.k.row(g, kpos)) * d;
            for (int64_t x = 0; x < d; ++x)
              a[x] += p * vrow[x];
          }
          m[r] = mNew;
        }
      }
      // Epilogue: normalise and store through the query index map.
      for (int qpos = qa; qpos < qe; ++qpos) {
        const int r = qpos - qa;
        const int64_t row = s.q.row(g, qpos);
        if (l[r] == 0.0f)
          continue; // no key in this component: O = 0, lse = -inf
        for (int64_t x = 0; x < d; ++x)
          o[row * d + x] = acc[size_t(r) * d + x] / l[r];
        lse[row] = m[r] + std::log(l[r]);
      }
    }
  }
}

void mergePartial(int64_t T, int64_t d, float *o, float *lse, const float *o2,
                  const float *lse2) {
  for (int64_t i = 0; i < T; ++i) {
    if (lse2[i] == kNegInf)
      continue; // the new component has nothing for this row
    if (lse[i] == kNegInf) {
      std::copy(o2 + i * d, o2 + (i + 1) * d, o + i * d);
      lse[i] = lse2[i];
      continue;
    }
    const float mx = std::max(lse[i], lse2[i]);
    const float merged = mx + std::log(std::exp(lse[i] - mx) + std::exp(lse2[i] - mx));
    const float wa = std::exp(lse[i] - merged), wb = std::exp(lse2[i] - merged);
    for (int64_t x = 0; x < d; ++x)
      o[i * d + x] = o[i * d + x] * wa + o2[i * d + x] * wb;
    lse[i] = merged;
  }
}

/// The documents of batch row b (docIds [B, T]), null without documents.
static const int32_t *rowDocuments(const std::vector<int32_t> *docIds, int64_t B, int64_t T,
                                   int64_t b) {
  if (!docIds)
    return nullptr;
  if (docIds->size() != size_t(B * T))
    throw Error("cpu executor: the document ids are not [B, T]");
  return docIds->data() + b * T;
}

AttentionOutput cpuForward(const Plan &plan, int64_t B, int64_t H, int64_t d,
                           const std::vector<float> &q, const std::vector<float> &k,
                           const std::vector<float> &v, float scale,
                           const std::vector<int32_t> *docIds) {
  const int64_t T = plan.T, n = static_cast<int64_t>(plan.heads.size());
  if (n == 0 || B <= 0 || H <= 0 || d <= 0 || T <= 0)
    throw Error("cpu executor: empty plan or non-positive shape");
  const size_t elements = size_t(B * H * T * d);
  if (q.size() != elements || k.size() != elements || v.size() != elements)
    throw Error("cpu executor: a tensor's size is not B*H*T*d");
  AttentionOutput out{std::vector<float>(elements, 0.0f),
                      std::vector<float>(size_t(B * H * T), kNegInf)};
  std::vector<float> partO(static_cast<size_t>(T * d)), partLse(static_cast<size_t>(T));
  for (int64_t bh = 0; bh < B * H; ++bh) {
    const HeadPlan &head = plan.heads[(bh % H) % n];
    const int64_t base = bh * T * d;
    // Components launch in order; each merges into the head's running result.
    for (const PlanComponent &component : head.components) {
      componentForward(component, T, d, &q[base], &k[base], &v[base], scale, partO.data(),
                       partLse.data(), rowDocuments(docIds, B, T, bh / H));
      mergePartial(T, d, &out.o[base], &out.lse[bh * T], partO.data(), partLse.data());
    }
  }
  return out;
}

//--- backward -------------------------------------------------------------------

void componentBackward(const PlanComponent &component, int64_t T, int64_t d, const float *q,
                       const float *k, const float *v, const float *dout, const float *lse,
                       const float *D, float scale, float *dq, float *dk, float *dv,
                       const int32_t *docs) {
  Component c(component, T);
  const tiling::TileSchedule &s = c.s;
  const int M = s.qTile, N = s.kTile;
  // dS of one pair from the merged statistics: P = exp(S - lse) is the final
  // probability (not this component's), so the components' gradients add up.
  auto pairGrad = [&](int64_t qrow, int64_t krow, float *p) {
    const float x = scale * dot(q + qrow * d, k + krow * d, d);
    *p = std::exp(x - lse[qrow]);
    const float dp = dot(dout + qrow * d, v + krow * d, d);
    return *p * (dp - D[qrow]);
  };

  // dK/dV kernel: a key tile's gradients stay resident over its query tiles.
  for (int g = 0; g < s.k.groups(); ++g) {
    for (int kt = 0; kt < s.kTilesPerGroup(); ++kt) {
      const int ka = kt * N, ke = Component::tileEnd(s.k, g, N, kt);
      if (ka >= ke)
        continue;
      std::vector<float> dkT(size_t(N) * d, 0.0f), dvT(size_t(N) * d, 0.0f);
      for (int n = 0; n < s.bwdCount(g, kt); ++n) {
        const tiling::TileRef ref = s.bwdTile(g, kt, n);
        // The pair's run from its query tile's side: the rule is symmetric.
        const int full = c.run(docs, g, ref.tile, tiling::TileRef{kt, ref.full});
        if (full == documents::kSkip)
          continue;
        const int qa = ref.tile * M, qe = Component::tileEnd(s.q, g, M, ref.tile);
        for (int qpos = qa; qpos < qe; ++qpos)
          for (int kpos = ka; kpos < ke; ++kpos) {
            if (!c.computes(full, docs, g, qpos, kpos))
              continue;
            const int64_t qrow = s.q.row(g, qpos), krow = s.k.row(g, kpos);
            float p;
            const float ds = pairGrad(qrow, krow, &p);
            for (int64_t x = 0; x < d; ++x) {
              dvT[size_t(kpos - ka) * d + x] += p * dout[qrow * d + x];
              dkT[size_t(kpos - ka) * d + x] += scale * ds * q[qrow * d + x];
            }
          }
      }
      for (int kpos = ka; kpos < ke; ++kpos) {
        const int64_t krow = s.k.row(g, kpos);
        for (int64_t x = 0; x < d; ++x) {
          dk[krow * d + x] += dkT[size_t(kpos - ka) * d + x];
          dv[krow * d + x] += dvT[size_t(kpos - ka) * d + x];
        }
      }
    }
  }

  // dQ kernel: a query tile owns its rows, so no atomics and a fixed order.
  for (int g = 0; g < s.q.groups(); ++g) {
    for (int qt = 0; qt < s.qTilesPerGroup(); ++qt) {
      const int qa = qt * M, qe = Component::tileEnd(s.q, g, M, qt);
      if (qa >= qe)
        continue;
      std::vector<float> dqT(size_t(M) * d, 0.0f);
      for (int n = 0; n < s.fwdCount(g, qt); ++n) {
        const tiling::TileRef ref = s.fwdTile(g, qt, n);
        const int full = c.run(docs, g, qt, ref);
        if (full == documents::kSkip)
          continue;
        const int ka = ref.tile * N, ke = Component::tileEnd(s.k, g, N, ref.tile);
        for (int qpos = qa; qpos < qe; ++qpos)
          for (int kpos = ka; kpos < ke; ++kpos) {
            if (!c.computes(full, docs, g, qpos, kpos))
              continue;
            const int64_t qrow = s.q.row(g, qpos), krow = s.k.row(g, kpos);
            float p;
            const float ds = pairGrad(qrow, krow, &p);
            for (int64_t x = 0; x < d; ++x)
              dqT[size_t(qpos - qa) * d + x] += scale * ds * k[krow * d + x];
          }
      }
      for (int qpos = qa; qpos < qe; ++qpos) {
        const int64_t qrow = s.q.row(g, qpos);
        for (int64_t x = 0; x < d; ++x)
          dq[qrow * d + x] += dqT[size_t(qpos - qa) * d + x];
      }
    }
  }
}

AttentionGrads cpuBackward(const Plan &plan, int64_t B, int64_t H, int64_t d,
                           const std::vector<float> &q, const std::vector<float> &k,
                           const std::vector<float> &v, const std::vector<float> &o,
                           const std::vector<float> &lse, const std::vector<float> &dout,
                           float scale, const std::vector<int32_t> *docIds) {
  const int64_t T = plan.T, n = static_cast<int64_t>(plan.heads.size());
  if (n == 0 || B <= 0 || H <= 0 || d <= 0 || T <= 0)
    throw Error("cpu executor: empty plan or non-positive shape");
  const size_t elements = size_t(B * H * T * d);
  if (q.size() != elements || k.size() != elements || v.size() != elements ||
      o.size() != elements || dout.size() != elements || lse.size() != size_t(B * H * T))
    throw Error("cpu executor: a tensor's size does not match B, H, T, d");
  AttentionGrads g{std::vector<float>(elements, 0.0f), std::vector<float>(elements, 0.0f),
                   std::vector<float>(elements, 0.0f)};
  std::vector<float> D(static_cast<size_t>(T));
  for (int64_t bh = 0; bh < B * H; ++bh) {
    const HeadPlan &head = plan.heads[(bh % H) % n];
    const int64_t base = bh * T * d;
    // Preprocessing kernel: D = rowsum(dO * O) of the merged output, shared
    // by every component (rows with no key have O = 0, so D = 0).
    for (int64_t i = 0; i < T; ++i)
      D[i] = dot(&dout[base + i * d], &o[base + i * d], d);
    for (const PlanComponent &component : head.components)
      componentBackward(component, T, d, &q[base], &k[base], &v[base], &dout[base],
                        &lse[bh * T], D.data(), scale, &g.dq[base], &g.dk[base], &g.dv[base],
                        rowDocuments(docIds, B, T, bh / H));
  }
  return g;
}

} // namespace sparta
