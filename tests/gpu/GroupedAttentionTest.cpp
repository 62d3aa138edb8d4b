//===- GroupedAttentionTest.cpp - SparseAttention with fewer kv heads, lent workspaces ===//
//
// Grouped-query and multi-query attention through the C++ API: k and v have
// Hkv heads, q has H = G x Hkv. The reference is the plain multi-head one on
// k and v repeated per query head; its dK and dV are then summed over each
// group. Also: a caller's workspace and an external stream give bit for bit
// the results of the object's own buffers and stream, and a workspace that
// is too small is rejected.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"

#include "sparta/Error.h"
#include "sparta/Float16.h"
#include "sparta/Frontend.h"
#include "sparta/PatternFiles.h"
#include "sparta/ReferenceAttention.h"
#include "sparta/SparseAttention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace sparta {
namespace {

std::vector<float> roundedRandom(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(n);
  for (float &v : x)
    v = bf16Value(bf16Bits(normal(rng)));
  return x;
}

std::vector<uint16_t> bits(const std::vector<float> &x) {
  std::vector<uint16_t> out(x.size());
  std::transform(x.begin(), x.end(), out.begin(), bf16Bits);
  return out;
}

/// [B, Hkv, T, d] -> [B, H, T, d]: query head h gets kv head h / G.
std::vector<float> repeatHeads(const std::vector<float> &x, int64_t B, int64_t Hkv, int64_t G,
                               int64_t rowElems) {
  std::vector<float> out(size_t(B * Hkv * G * rowElems));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hkv * G; ++h)
      std::copy_n(x.begin() + (b * Hkv + h / G) * rowElems, rowElems,
                  out.begin() + (b * Hkv * G + h) * rowElems);
  return out;
}

/// [B, H, T, d] -> [B, Hkv, T, d]: the sum over each group of G heads.
std::vector<float> sumGroups(const std::vector<float> &x, int64_t B, int64_t Hkv, int64_t G,
                             int64_t rowElems) {
  std::vector<float> out(size_t(B * Hkv * rowElems), 0.f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hkv * G; ++h)
      for (int64_t e = 0; e < rowElems; ++e)
        out[(b * Hkv + h / G) * rowElems + e] += x[(b * Hkv * G + h) * rowElems + e];
  return out;
}

struct Device {
  rt::DeviceBuffer buffer;
  explicit Device(const std::vector<float> &x) : buffer(x.size() * 2) {
    buffer.upload(bits(x).data(), x.size() * 2);
  }
  explicit Device(size_t elements) : buffer(elements * 2) {}
  std::vector<float> get() const {
    std::vector<uint16_t> raw(buffer.size() / 2);
    buffer.download(raw.data(), buffer.size());
    std::vector<float> x(raw.size());
    std::transform(raw.begin(), raw.end(), x.begin(), bf16Value);
    return x;
  }
};

void expectWithin(const char *what, const std::vector<float> &got, const std::vector<float> &ref,
                  const std::vector<float> &low) {
  const double err = maxAbsDiff(got, ref), lowErr = maxAbsDiff(low, ref);
  EXPECT_LE(err, 2 * lowErr + 1e-3 * std::max(1e-6, maxAbs(ref)))
      << what << ": error " << err << ", low-precision " << lowErr;
}

class Grouped : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(Grouped, MatchesTheReferenceOnRepeatedHeads) {
  const auto [file, Hkv] = GetParam();
  const int64_t B = 2, H = 4, G = H / Hkv, T = 384, d = 64;
  ConcretePattern pattern = loadPattern(findPatternFile(file), {{"T", T}, {"L", 32}});
  std::mt19937 rng(7);
  const int64_t rowElems = T * d;
  std::vector<float> q = roundedRandom(size_t(B * H * rowElems), rng);
  std::vector<float> k = roundedRandom(size_t(B * Hkv * rowElems), rng);
  std::vector<float> v = roundedRandom(size_t(B * Hkv * rowElems), rng);
  std::vector<float> dout = roundedRandom(q.size(), rng);

  SparseAttention attention(pattern, AttentionConfig{});
  Device q_(q), k_(k), v_(v), do_(dout), o_(q.size()), dq_(q.size()), dk_(k.size()), dv_(v.size());
  rt::DeviceBuffer lse(size_t(B * H * T) * 4);
  auto qView = [&](const Device &x) { return TensorView::bhtd(x.buffer.ptr(), B, H, T, d); };
  auto kView = [&](const Device &x) { return TensorView::bhtd(x.buffer.ptr(), B, Hkv, T, d); };
  rt::Stream stream;
  attention.forward(qView(q_), kView(k_), kView(v_), qView(o_), lse.ptr(), stream);
  attention.backward(qView(q_), kView(k_), kView(v_), qView(o_), lse.ptr(), qView(do_), qView(dq_),
                     kView(dk_), kView(dv_), stream);
  stream.synchronize();

  const AttentionShape shape{B, H, T, d};
  const double scale = 1.0 / std::sqrt(double(d));
  std::vector<float> kRep = repeatHeads(k, B, Hkv, G, rowElems);
  std::vector<float> vRep = repeatHeads(v, B, Hkv, G, rowElems);
  AttentionOutput ref = referenceForward(pattern.heads, shape, q, kRep, vRep, scale);
  AttentionOutput low =
      lowPrecisionForward(pattern.heads, shape, q, kRep, vRep, scale, LowPrecision::BF16);
  AttentionGrads gref = referenceBackward(pattern.heads, shape, q, kRep, vRep, dout, scale);
  AttentionGrads glow =
      lowPrecisionBackward(pattern.heads, shape, q, kRep, vRep, dout, scale, LowPrecision::BF16);
  expectWithin("o", o_.get(), ref.o, low.o);
  expectWithin("dq", dq_.get(), gref.dq, glow.dq);
  expectWithin("dk", dk_.get(), sumGroups(gref.dk, B, Hkv, G, rowElems),
               sumGroups(glow.dk, B, Hkv, G, rowElems));
  expectWithin("dv", dv_.get(), sumGroups(gref.dv, B, Hkv, G, rowElems),
               sumGroups(glow.dv, B, Hkv, G, rowElems));
}

INSTANTIATE_TEST_SUITE_P(Patterns, Grouped,
                         ::testing::Combine(::testing::Values("strided", "fixed_merged", "bigbird"),
                                            ::testing::Values(2, 1)),
                         [](const auto &info) {
                           return std::get<0>(info.param) + "_kv" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(SparseAttentionWorkspace, LentWorkspaceAndExternalStreamGiveTheSameBits) {
  const int64_t B = 1, H = 4, Hkv = 2, T = 512, d = 64;
  ConcretePattern pattern =
      loadPattern(findPatternFile("fixed_merged"), {{"T", T}, {"L", 64}, {"c", 16}});
  SparseAttention attention(pattern, AttentionConfig{});
  std::mt19937 rng(3);
  const int64_t rowElems = T * d;
  Device q_(roundedRandom(size_t(B * H * rowElems), rng));
  Device k_(roundedRandom(size_t(B * Hkv * rowElems), rng));
  Device v_(roundedRandom(size_t(B * Hkv * rowElems), rng));
  Device do_(roundedRandom(size_t(B * H * rowElems), rng));
  auto qView = [&](const Device &x) { return TensorView::bhtd(x.buffer.ptr(), B, H, T, d); };
  auto kView = [&](const Device &x) { return TensorView::bhtd(x.buffer.ptr(), B, Hkv, T, d); };
  rt::DeviceBuffer lse(size_t(B * H * T) * 4);

  auto run = [&](const rt::Stream &stream, const Workspace *fwd, const Workspace *bwd) {
    Device o(size_t(B * H * rowElems)), dq(o.buffer.size() / 2), dk(size_t(B * Hkv * rowElems)),
        dv(size_t(B * Hkv * rowElems));
    attention.forward(qView(q_), kView(k_), kView(v_), qView(o), lse.ptr(), stream, fwd);
    attention.backward(qView(q_), kView(k_), kView(v_), qView(o), lse.ptr(), qView(do_),
                       qView(dq), kView(dk), kView(dv), stream, bwd);
    stream.synchronize();
    return std::vector<std::vector<float>>{o.get(), dq.get(), dk.get(), dv.get()};
  };
  rt::Stream own;
  const auto expected = run(own, nullptr, nullptr);
  const size_t heldBefore = attention.workspaceBytes();

  const size_t fwdBytes = attention.forwardWorkspaceBytes(B, H);
  const size_t bwdBytes = attention.backwardWorkspaceBytes(B, H, Hkv);
  EXPECT_GT(fwdBytes, 0u); // the merged pattern merges components through o_acc
  EXPECT_GT(bwdBytes, attention.backwardWorkspaceBytes(B, H, H)); // grouped dK/dV buffers
  rt::DeviceBuffer fwdMem(fwdBytes), bwdMem(bwdBytes);
  const Workspace fwd{fwdMem.ptr(), fwdBytes}, bwd{bwdMem.ptr(), bwdBytes};
  rt::Stream creator;
  const rt::Stream external = rt::Stream::external(creator.handle());
  EXPECT_EQ(run(external, &fwd, &bwd), expected);
  EXPECT_EQ(attention.workspaceBytes(), heldBefore); // nothing allocated for the lent calls

  Device o(size_t(B * H * rowElems));
  const Workspace small{fwdMem.ptr(), fwdBytes / 2};
  try {
    attention.forward(qView(q_), kView(k_), kView(v_), qView(o), lse.ptr(), external, &small);
    FAIL() << "a workspace of half the size was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("is too small"), std::string::npos) << e.what();
  }
}

TEST(SparseAttentionApi, RejectsKvHeadsThatDoNotDivide) {
  ConcretePattern pattern = loadPattern(findPatternFile("strided"), {{"T", 256}, {"L", 16}});
  SparseAttention attention(pattern, AttentionConfig{});
  rt::DeviceBuffer buf(size_t(4) * 256 * 64 * 2), lse(4 * 256 * 4);
  rt::Stream stream;
  const TensorView q = TensorView::bhtd(buf.ptr(), 1, 4, 256, 64);
  const TensorView kv = TensorView::bhtd(buf.ptr(), 1, 3, 256, 64);
  try {
    attention.forward(q, kv, kv, q, lse.ptr(), stream);
    FAIL() << "3 kv heads for 4 query heads were accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("a number of heads that divides q's"), std::string::npos)
        << e.what();
  }
}

} // namespace
} // namespace sparta

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
