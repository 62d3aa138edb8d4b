//===- embedding.cu - Token + learned position embedding, forward/backward -===//
//
// out[n] = tokenTable[tokens[n]] + sum_k positionTable_k[(t / divisor_k) % modulus_k]
// with t = n % seqLen. The components express the pattern-aligned positions:
// row and column of the [T/L, L] grid for text (divisors L and 1), row, column
// and channel for images.
//
// The backward pass is deterministic without float atomics. Token table:
// block (v, s) owns vocabulary row v and segment s of kTokenSegment tokens; it
// lists, in token order, the tokens of its segment equal to v and sums their
// gradient rows into partial[s][v]; column_reduce then adds the segments in
// order. Segments bound the serial work of frequent bytes (a space is ~15% of
// text). Position tables: embedding_position_sum sums the batch for each t,
// then block (k, p) adds the rows t with index_k(t) == p in increasing t.
//
//===----------------------------------------------------------------------===//

namespace sparta {
namespace model {

extern "C" __global__ void __launch_bounds__(kRowThreads) embedding_fwd(EmbeddingFwdParams p) {
  constexpr int D = cfg::kDModel;
  int lane = threadIdx.x % 32;
  int row = blockIdx.x * kRowWarps + threadIdx.x / 32;
  if (row >= p.rows)
    return;
  int token = p.tokens[row];
  WarpRow<D, cfg::kEmbedVec> acc;
  if (token < 0 || token >= cfg::kVocab) {
    // An out-of-range token poisons its row instead of reading out of bounds.
#pragma unroll
    for (int j = 0; j < acc.kChunks; ++j)
#pragma unroll
      for (int e = 0; e < cfg::kEmbedVec; ++e)
        acc.v[j][e] = quietNaN();
    acc.store(p.out + static_cast<i64>(row) * D, lane);
    return;
  }
  acc.load(p.tokenTable + static_cast<i64>(token) * D, lane);
  int t = row % p.seqLen;
  // Unrolled with constant indices: a dynamic index into the parameter
  // struct's arrays would copy it to local memory.
#pragma unroll
  for (int k = 0; k < kMaxPositionComponents; ++k) {
    if (k >= p.components)
      break;
    int index = (t / p.divisor[k]) % p.modulus[k];
    WarpRow<D, cfg::kEmbedVec> pos;
    pos.load(p.positionTables[k] + static_cast<i64>(index) * D, lane);
#pragma unroll
    for (int j = 0; j < acc.kChunks; ++j)
#pragma unroll
      for (int e = 0; e < cfg::kEmbedVec; ++e)
        acc.v[j][e] += pos.v[j][e];
  }
  acc.store(p.out + static_cast<i64>(row) * D, lane);
}

/// grid (vocab, segments), kEmbedThreads threads; thread i owns columns
/// [i * kEmbedVec, + kEmbedVec).
extern "C" __global__ void __launch_bounds__(cfg::kEmbedThreads) embedding_token_grad(TokenGradParams p) {
  constexpr int D = cfg::kDModel, VEC = cfg::kEmbedVec, kWarps = cfg::kEmbedThreads / 32;
  __shared__ i32 list[kTokenSegment];
  __shared__ i32 warpCount[kWarps];
  const int v = blockIdx.x, segment = blockIdx.y;
  const int begin = segment * kTokenSegment;
  const int end = min(begin + kTokenSegment, p.rows);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  // Compact the matching token indices, in order, with one ballot per warp.
  int count = 0;
  for (int base = begin; base < end; base += cfg::kEmbedThreads) {
    int n = base + threadIdx.x;
    bool match = n < end && p.tokens[n] == v;
    u32 ballot = __ballot_sync(0xffffffffu, match);
    if (lane == 0)
      warpCount[warp] = __popc(ballot);
    __syncthreads();
    int before = count, total = count;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      before += w < warp ? warpCount[w] : 0;
      total += warpCount[w];
    }
    if (match)
      list[before + __popc(ballot & ((1u << lane) - 1u))] = n;
    count = total;
    __syncthreads();
  }

  float acc[VEC];
#pragma unroll
  for (int e = 0; e < VEC; ++e)
    acc[e] = 0.0f;
  const u16 *column = p.dout + threadIdx.x * VEC;
  // Four independent row loads in flight, added in list order.
  int i = 0;
  for (; i + 4 <= count; i += 4) {
    float r[4][VEC];
#pragma unroll
    for (int u = 0; u < 4; ++u)
      loadBf16<VEC>(column + static_cast<i64>(list[i + u]) * D, r[u]);
#pragma unroll
    for (int u = 0; u < 4; ++u)
#pragma unroll
      for (int e = 0; e < VEC; ++e)
        acc[e] += r[u][e];
  }
  for (; i < count; ++i) {
    float r[VEC];
    loadBf16<VEC>(column + static_cast<i64>(list[i]) * D, r);
#pragma unroll
    for (int e = 0; e < VEC; ++e)
      acc[e] += r[e];
  }
  float *out = p.partial + (static_cast<i64>(segment) * cfg::kVocab + v) * D + threadIdx.x * VEC;
#pragma unroll
  for (int e = 0; e < VEC; ++e)
    out[e] = acc[e];
}

/// One thread per (t, group of kEmbedVec columns).
extern "C" __global__ void __launch_bounds__(kElementThreads) embedding_position_sum(PositionSumParams p) {
  constexpr int D = cfg::kDModel, VEC = cfg::kEmbedVec, kGroups = D / VEC;
  i64 id = globalThread();
  if (id >= static_cast<i64>(p.seqLen) * kGroups)
    return;
  int t = static_cast<int>(id / kGroups), col = static_cast<int>(id % kGroups) * VEC;
  float acc[VEC];
#pragma unroll
  for (int e = 0; e < VEC; ++e)
    acc[e] = 0.0f;
  for (i64 row = t; row < p.rows; row += p.seqLen) {
    float r[VEC];
    loadBf16<VEC>(p.dout + row * D + col, r);
#pragma unroll
    for (int e = 0; e < VEC; ++e)
      acc[e] += r[e];
  }
#pragma unroll
  for (int e = 0; e < VEC; ++e)
    p.sum[static_cast<i64>(t) * D + col + e] = acc[e];
}

/// grid: sum of the moduli; block b is (component k, index p) in order.
extern "C" __global__ void __launch_bounds__(cfg::kEmbedThreads) embedding_position_grad(PositionGradParams p) {
  constexpr int D = cfg::kDModel, VEC = cfg::kEmbedVec;
  // Find (component, index) with constant array indices (see embedding_fwd).
  int index = blockIdx.x, component = 0;
#pragma unroll
  for (int k = 0; k + 1 < kMaxPositionComponents; ++k)
    if (component == k && k + 1 < p.components && index >= p.modulus[k]) {
      index -= p.modulus[k];
      component = k + 1;
    }
  int divisor = 1, period = 1;
  float *grad = nullptr;
#pragma unroll
  for (int k = 0; k < kMaxPositionComponents; ++k)
    if (component == k) {
      divisor = p.divisor[k];
      period = divisor * p.modulus[k];
      grad = p.grad[k];
    }
  float acc[VEC];
#pragma unroll
  for (int e = 0; e < VEC; ++e)
    acc[e] = 0.0f;
  const int col = threadIdx.x * VEC;
  for (int start = index * divisor; start < p.seqLen; start += period)
    for (int t = start; t < start + divisor && t < p.seqLen; ++t)
#pragma unroll
      for (int e = 0; e < VEC; ++e)
        acc[e] += p.sum[static_cast<i64>(t) * D + col + e];
  float *out = grad + static_cast<i64>(index) * D + col;
#pragma unroll
  for (int e = 0; e < VEC; ++e)
    out[e] = p.accumulate ? out[e] + acc[e] : acc[e];
}

} // namespace model
} // namespace sparta
