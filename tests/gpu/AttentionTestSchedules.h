//===- AttentionTestSchedules.h - Hand-written Schedules for the kernel tests ===//
//
// Stand-ins for what the code generator emits: one Schedule struct (see
// runtime/device/sparta/schedule.cuh) per mask component, as CUDA source with
// the constants inlined, plus the host-side facts the tests need (block
// counts, the element mask in token coordinates). Shared by the GPU tests and
// the CPU-only NVRTC unit test.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sparta::test {

/// The tile edge of every schedule here (kBlockM = kBlockN in their sources).
constexpr int kTestTile = 64;

/// One mask component: its schedule's source and what the host must know.
struct TestSchedule {
  std::string name;   // struct name in the generated source (unique per module)
  std::string source; // the struct (and any tables it reads)
  int numQBlocks = 0, numKBlocks = 0;
  std::function<bool(int, int)> allowed; // token coordinates (i query, j key)
};

/// Replaces every $KEY of `text` by its value.
inline std::string substitute(std::string text, const std::map<std::string, std::string> &vars) {
  // Longest keys first, so that $TT is not eaten by $T.
  std::vector<std::pair<std::string, std::string>> kv(vars.begin(), vars.end());
  std::sort(kv.begin(), kv.end(),
            [](const auto &a, const auto &b) { return a.first.size() > b.first.size(); });
  for (const auto &[k, v] : kv) {
    const std::string key = "$" + k;
    for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + v.size()))
      text.replace(pos, key.size(), v);
  }
  return text;
}

inline int ceilDiv(int a, int b) { return (a + b - 1) / b; }

/// Causal attention inside the L groups of the strided transpose, keys at
/// least OFF rows earlier: group col holds rows col, col+L, ...; allowed
/// (mapped) kpos <= qpos - OFF. L = 1, OFF = 0 is plain causal attention;
/// OFF = 2 is the stride component of a band(L) union (excluding i-j in {0, L}).
inline TestSchedule stridedSchedule(const std::string &name, int T, int L, int off) {
  static const char *kSrc = R"(
struct $NAME {
  static constexpr int kBlockM = 64, kBlockN = 64;
  static constexpr int T = $T, L = $L, OFF = $OFF;
  static constexpr int MT = ((T + L - 1) / L + 63) / 64; // tiles of the longest group
  static constexpr int kNumQBlocks = L * MT, kNumKBlocks = L * MT;
  static constexpr bool kLongestFirst = true; // causal lists: the longest first
  __device__ __forceinline__ static int len(int g) { return (T - g + L - 1) / L; }
  // Heaviest query tiles (the last of each group) first.
  __device__ __forceinline__ static int2 q_block(int bid) { return make_int2(bid % L, MT - 1 - bid / L); }
  __device__ __forceinline__ static int2 k_block(int bid) { return make_int2(bid % L, MT - 1 - bid / L); }
  __device__ __forceinline__ static int q_len(int g) { return len(g); }
  __device__ __forceinline__ static int k_len(int g) { return len(g); }
  __device__ __forceinline__ static int q_row(int g, int p) { return p * L + g; }
  __device__ __forceinline__ static int k_row(int g, int p) { return p * L + g; }
  // Rows ascend with the position: the bounds are the first and last rows.
  __device__ __forceinline__ static int2 q_rows(int g, int a, int z) {
    return make_int2(q_row(g, a), q_row(g, z));
  }
  __device__ __forceinline__ static int2 k_rows(int g, int a, int z) {
    return make_int2(k_row(g, a), k_row(g, z));
  }
  __device__ __forceinline__ static bool full(int qt, int kt) { return kt * 64 + 63 <= qt * 64 - OFF; }
  __device__ __forceinline__ static int fwd_count(int g, int qt) {
    int last = min(qt * 64 + 63, len(g) - 1) - OFF;
    return last < 0 ? 0 : last / 64 + 1;
  }
  __device__ __forceinline__ static sparta::TileRef fwd_tile(int g, int qt, int n) { return {n, full(qt, n)}; }
  __device__ __forceinline__ static int bwd_count(int g, int kt) {
    return max(0, (len(g) + 63) / 64 - (kt * 64 + OFF) / 64);
  }
  __device__ __forceinline__ static sparta::TileRef bwd_tile(int g, int kt, int n) {
    int qt = (kt * 64 + OFF) / 64 + n;
    return {qt, full(qt, kt)};
  }
  __device__ __forceinline__ static bool allowed(int, int q, int k) { return k <= q - OFF; }
};
)";
  TestSchedule s;
  s.name = name;
  s.source = substitute(kSrc, {{"NAME", name}, {"T", std::to_string(T)}, {"L", std::to_string(L)},
                               {"OFF", std::to_string(off)}});
  const int mt = ceilDiv(ceilDiv(T, L), 64);
  s.numQBlocks = s.numKBlocks = L * mt;
  s.allowed = [L, off](int i, int j) { return j <= i && (i - j) % L == 0 && (i - j) / L >= off; };
  return s;
}

/// Local band on the identity map: max(0, i - W) <= j <= i.
inline TestSchedule bandSchedule(const std::string &name, int T, int W) {
  static const char *kSrc = R"(
struct $NAME {
  static constexpr int kBlockM = 64, kBlockN = 64;
  static constexpr int T = $T, W = $W, NT = (T + 63) / 64;
  static constexpr int kNumQBlocks = NT, kNumKBlocks = NT;
  static constexpr bool kLongestFirst = false;
  __device__ __forceinline__ static int2 q_block(int bid) { return make_int2(0, bid); }
  __device__ __forceinline__ static int2 k_block(int bid) { return make_int2(0, NT - 1 - bid); }
  __device__ __forceinline__ static int q_len(int) { return T; }
  __device__ __forceinline__ static int k_len(int) { return T; }
  __device__ __forceinline__ static int q_row(int, int p) { return p; }
  __device__ __forceinline__ static int k_row(int, int p) { return p; }
  // Rows ascend with the position: the bounds are the first and last rows.
  __device__ __forceinline__ static int2 q_rows(int g, int a, int z) {
    return make_int2(q_row(g, a), q_row(g, z));
  }
  __device__ __forceinline__ static int2 k_rows(int g, int a, int z) {
    return make_int2(k_row(g, a), k_row(g, z));
  }
  __device__ __forceinline__ static bool full(int qt, int kt) {
    return kt * 64 + 63 <= qt * 64 && qt * 64 + 63 - kt * 64 <= W && qt * 64 + 63 < T;
  }
  __device__ __forceinline__ static int lo(int qt) { return max(0, qt * 64 - W) / 64; }
  __device__ __forceinline__ static int fwd_count(int, int qt) { return qt - lo(qt) + 1; }
  __device__ __forceinline__ static sparta::TileRef fwd_tile(int, int qt, int n) {
    int kt = lo(qt) + n;
    return {kt, full(qt, kt)};
  }
  __device__ __forceinline__ static int bwd_count(int, int kt) {
    return min(NT - 1, (kt * 64 + 63 + W) / 64) - kt + 1;
  }
  __device__ __forceinline__ static sparta::TileRef bwd_tile(int, int kt, int n) {
    return {kt + n, full(kt + n, kt)};
  }
  __device__ __forceinline__ static bool allowed(int, int q, int k) { return k <= q && q - k <= W; }
};
)";
  TestSchedule s;
  s.name = name;
  s.source = substitute(kSrc, {{"NAME", name}, {"T", std::to_string(T)}, {"W", std::to_string(W)}});
  s.numQBlocks = s.numKBlocks = ceilDiv(T, 64);
  s.allowed = [W](int i, int j) { return j <= i && i - j <= W; };
  return s;
}

/// Fixed-pattern summary (j mod L >= L - C, j <= i): identity queries, keys
/// gathered from the summary columns. With `exclude`, pairs of band(L) and of
/// the stride pattern are left out (third component of a union test), which
/// makes every tile partial.
inline TestSchedule summarySchedule(const std::string &name, int T, int L, int C, bool exclude) {
  static const char *kSrc = R"(
struct $NAME {
  static constexpr int kBlockM = 64, kBlockN = 64;
  static constexpr int T = $T, L = $L, C = $C;
  static constexpr bool EXCL = $EXCL;
  static constexpr int KLEN = (T / L) * C + (T % L > L - C ? T % L - (L - C) : 0);
  static constexpr int NQ = (T + 63) / 64, NK = (KLEN + 63) / 64;
  static constexpr int kNumQBlocks = NQ, kNumKBlocks = NK;
  static constexpr bool kLongestFirst = true;
  __device__ __forceinline__ static int2 q_block(int bid) { return make_int2(0, NQ - 1 - bid); }
  __device__ __forceinline__ static int2 k_block(int bid) { return make_int2(0, NK - 1 - bid); }
  __device__ __forceinline__ static int q_len(int) { return T; }
  __device__ __forceinline__ static int k_len(int) { return KLEN; }
  __device__ __forceinline__ static int q_row(int, int p) { return p; }
  __device__ __forceinline__ static int k_row(int, int p) { return (p / C) * L + (L - C) + p % C; }
  // Rows ascend with the position: the bounds are the first and last rows.
  __device__ __forceinline__ static int2 q_rows(int g, int a, int z) {
    return make_int2(q_row(g, a), q_row(g, z));
  }
  __device__ __forceinline__ static int2 k_rows(int g, int a, int z) {
    return make_int2(k_row(g, a), k_row(g, z));
  }
  // Summary keys at or before token i.
  __device__ __forceinline__ static int upto(int i) {
    return ((i + 1) / L) * C + max(0, (i + 1) % L - (L - C));
  }
  __device__ __forceinline__ static int fwd_count(int, int qt) {
    return (upto(min(qt * 64 + 63, T - 1)) + 63) / 64;
  }
  __device__ __forceinline__ static sparta::TileRef fwd_tile(int, int qt, int n) {
    return {n, !EXCL && (n + 1) * 64 <= upto(qt * 64)};
  }
  __device__ __forceinline__ static int qfirst(int kt) { return k_row(0, kt * 64) / 64; }
  __device__ __forceinline__ static int bwd_count(int, int kt) { return NQ - qfirst(kt); }
  __device__ __forceinline__ static sparta::TileRef bwd_tile(int, int kt, int n) {
    int qt = qfirst(kt) + n;
    return {qt, !EXCL && (kt + 1) * 64 <= upto(qt * 64)};
  }
  __device__ __forceinline__ static bool allowed(int, int q, int k) {
    int j = k_row(0, k);
    if (EXCL)
      return j <= q && q - j > L && (q - j) % L != 0;
    return j <= q;
  }
};
)";
  TestSchedule s;
  s.name = name;
  s.source = substitute(kSrc, {{"NAME", name}, {"T", std::to_string(T)}, {"L", std::to_string(L)},
                               {"C", std::to_string(C)}, {"EXCL", exclude ? "true" : "false"}});
  const int klen = (T / L) * C + std::max(0, T % L - (L - C));
  s.numQBlocks = ceilDiv(T, 64);
  s.numKBlocks = ceilDiv(klen, 64);
  s.allowed = [L, C, exclude](int i, int j) {
    if (j > i || j % L < L - C)
      return false;
    return !exclude || (i - j > L && (i - j) % L != 0);
  };
  return s;
}

/// Table-driven (CSR in __constant__ memory) schedule on the identity map for
/// any mask, with tile lists and full flags computed on the host exactly as
/// a planner would. Used for the fixed pattern's chunk head.
inline TestSchedule tableSchedule(const std::string &name, int T,
                                  const std::function<bool(int, int)> &allowed,
                                  const std::string &allowedExpr) {
  const int nt = ceilDiv(T, 64);
  std::vector<int> fptr{0}, fidx, bptr{0}, bidx;
  // tile pair (qt, kt): any allowed element? all allowed (for rows < T)?
  std::vector<std::vector<int>> state(nt, std::vector<int>(nt, 0)); // 0 none, 1 partial, 2 full
  for (int qt = 0; qt < nt; ++qt)
    for (int kt = 0; kt < nt; ++kt) {
      bool any = false, all = true;
      for (int i = qt * 64; i < qt * 64 + 64 && i < T; ++i)
        for (int j = kt * 64; j < kt * 64 + 64; ++j) {
          bool a = j < T && allowed(i, j);
          any |= a;
          all &= a;
        }
      state[qt][kt] = any ? (all ? 2 : 1) : 0;
    }
  for (int qt = 0; qt < nt; ++qt) {
    for (int kt = 0; kt < nt; ++kt)
      if (state[qt][kt])
        fidx.push_back(kt * 2 + (state[qt][kt] == 2));
    fptr.push_back(static_cast<int>(fidx.size()));
  }
  for (int kt = 0; kt < nt; ++kt) {
    for (int qt = 0; qt < nt; ++qt)
      if (state[qt][kt])
        bidx.push_back(qt * 2 + (state[qt][kt] == 2));
    bptr.push_back(static_cast<int>(bidx.size()));
  }
  auto list = [](const std::vector<int> &v) {
    std::string s;
    for (int x : v)
      s += std::to_string(x) + ",";
    return s.empty() ? std::string("0") : s;
  };
  static const char *kSrc = R"(
__constant__ int $NAME_fptr[] = {$FPTR};
__constant__ int $NAME_fidx[] = {$FIDX};
__constant__ int $NAME_bptr[] = {$BPTR};
__constant__ int $NAME_bidx[] = {$BIDX};
struct $NAME {
  static constexpr int kBlockM = 64, kBlockN = 64;
  static constexpr int T = $T, NT = (T + 63) / 64;
  static constexpr int kNumQBlocks = NT, kNumKBlocks = NT;
  static constexpr bool kLongestFirst = false;
  __device__ __forceinline__ static int2 q_block(int bid) { return make_int2(0, bid); }
  __device__ __forceinline__ static int2 k_block(int bid) { return make_int2(0, NT - 1 - bid); }
  __device__ __forceinline__ static int q_len(int) { return T; }
  __device__ __forceinline__ static int k_len(int) { return T; }
  __device__ __forceinline__ static int q_row(int, int p) { return p; }
  __device__ __forceinline__ static int k_row(int, int p) { return p; }
  // Rows ascend with the position: the bounds are the first and last rows.
  __device__ __forceinline__ static int2 q_rows(int g, int a, int z) {
    return make_int2(q_row(g, a), q_row(g, z));
  }
  __device__ __forceinline__ static int2 k_rows(int g, int a, int z) {
    return make_int2(k_row(g, a), k_row(g, z));
  }
  __device__ __forceinline__ static int fwd_count(int, int qt) { return $NAME_fptr[qt + 1] - $NAME_fptr[qt]; }
  __device__ __forceinline__ static sparta::TileRef fwd_tile(int, int qt, int n) {
    int e = $NAME_fidx[$NAME_fptr[qt] + n];
    return {e >> 1, e & 1};
  }
  __device__ __forceinline__ static int bwd_count(int, int kt) { return $NAME_bptr[kt + 1] - $NAME_bptr[kt]; }
  __device__ __forceinline__ static sparta::TileRef bwd_tile(int, int kt, int n) {
    int e = $NAME_bidx[$NAME_bptr[kt] + n];
    return {e >> 1, e & 1};
  }
  __device__ __forceinline__ static bool allowed(int, int q, int k) { return $ALLOWED; }
};
)";
  TestSchedule s;
  s.name = name;
  s.source = substitute(kSrc, {{"NAME", name}, {"T", std::to_string(T)}, {"FPTR", list(fptr)},
                               {"FIDX", list(fidx)}, {"BPTR", list(bptr)}, {"BIDX", list(bidx)},
                               {"ALLOWED", allowedExpr}});
  s.numQBlocks = s.numKBlocks = nt;
  s.allowed = allowed;
  return s;
}

} // namespace sparta::test
