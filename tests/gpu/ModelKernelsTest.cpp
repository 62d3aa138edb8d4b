//===- ModelKernelsTest.cpp - Generated model kernels vs CPU references ----===//
//
// Every kernel of sparta::model::ModelKernels against its fp64 reference
// (KernelReference.h) on fresh random data, for d_model 384 and 512, with row
// counts that are not multiples of any block shape and batches that end in
// the middle of a sequence. Outputs are poisoned (NaN) before each run, so an
// unwritten element fails, and every kernel is run twice and must give
// bit-identical results.
//
// Tolerances. bf16 outputs: the kernels compute in fp32 from the same bf16
// inputs the reference reads, so the only error that matters is the final
// rounding. The bound is twice the error of storing the exact result in bf16,
// elementwise (2^-8 |exact|) and as a max over the tensor, plus 1e-5 of the
// tensor's largest value for fp32 noise where terms cancel. fp32 outputs
// (weight gradients, loss, optimizer state): 1e-5 relative to the value plus
// the tensor's rms (sums in fp32 of up to a few thousand terms).
//
// Exits 77 (skipped) without a CUDA driver.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "ModelKernelsTestUtil.h"

#include <functional>
#include <string>

using namespace sparta;
using namespace sparta::model;
using namespace sparta::model::test;

namespace {

class ModelKernelsTest : public testing::TestWithParam<int> {
protected:
  const ModelKernels &k() { return kernelsFor(GetParam()); }
  int D() const { return GetParam(); }
  std::mt19937 rng{static_cast<unsigned>(GetParam()) * 7919u};
};

TEST_P(ModelKernelsTest, EmbeddingForward) {
  const int vocab = 256, seqLen = 384, rows = 1000; // 2.6 sequences
  // Text grid L = 16 (row, column) and an image-like row/column/channel split.
  for (auto positions : {std::vector<PositionIndex>{{16, 24}, {1, 16}},
                         std::vector<PositionIndex>{{48, 8}, {3, 16}, {1, 3}},
                         std::vector<PositionIndex>{}}) {
    std::vector<std::int32_t> tokens = randomTokens(rows, vocab, rng);
    std::vector<float> table = randomBf16(vocab * D(), rng);
    std::vector<std::vector<float>> pos;
    for (const PositionIndex &p : positions)
      pos.push_back(randomBf16(p.modulus * D(), rng));
    std::vector<float> exact = ref::embeddingForward(tokens, table, positions, pos, seqLen, D());

    DeviceTensor dTokens = upload(tokens), dTable = uploadBf16(table);
    std::vector<DeviceTensor> dPos;
    std::vector<const bf16 *> posPtrs;
    for (const auto &p : pos) {
      dPos.push_back(uploadBf16(p));
      posPtrs.push_back(dPos.back().as<bf16>());
    }
    DeviceTensor out = poisoned(rows * D() * 2);
    auto run = [&] {
      k().embeddingForward(dTokens.as<std::int32_t>(), dTable.as<bf16>(), positions, posPtrs, rows,
                           seqLen, out.as<bf16>());
      return out.bytes();
    };
    std::vector<char> first = run();
    EXPECT_EQ(first, run()) << "not deterministic";
    expectBf16Close(downloadBf16(out, rows * D()), exact, "embedding");
  }
}

TEST_P(ModelKernelsTest, EmbeddingBackward) {
  const int vocab = 256, seqLen = 512, rows = 5000; // 3 token segments, 9.8 sequences
  std::vector<PositionIndex> positions = {{32, 16}, {1, 32}};
  // Skewed tokens: a third are one byte, as spaces and 'e' are in text.
  std::vector<std::int32_t> tokens = randomTokens(rows, vocab, rng);
  for (int i = 0; i < rows; i += 3)
    tokens[i] = 32;
  std::vector<float> dout = randomBf16(rows * D(), rng);
  std::vector<float> dTable;
  std::vector<std::vector<float>> dPos;
  ref::embeddingBackward(tokens, dout, positions, seqLen, D(), vocab, dTable, dPos);

  DeviceTensor dTokens = upload(tokens), dOut = uploadBf16(dout);
  DeviceTensor gTable(vocab * D() * 4), gRow(16 * D() * 4), gCol(32 * D() * 4);
  DeviceTensor ws(k().embeddingBackwardWorkspaceBytes(rows, seqLen));
  auto run = [&](bool accumulate) {
    k().embeddingBackward(dTokens.as<std::int32_t>(), dOut.as<bf16>(), positions, rows, seqLen,
                          gTable.as<float>(), {gRow.as<float>(), gCol.as<float>()}, accumulate,
                          ws.as<float>());
  };
  for (DeviceTensor *t : {&gTable, &gRow, &gCol})
    poison(*t);
  run(false);
  std::vector<char> a = gTable.bytes(), b = gRow.bytes();
  run(false);
  EXPECT_EQ(a, gTable.bytes()) << "not deterministic";
  EXPECT_EQ(b, gRow.bytes()) << "not deterministic";
  expectF32Close(downloadF32(gTable, vocab * D()), dTable, "dTokenTable");
  expectF32Close(downloadF32(gRow, 16 * D()), dPos[0], "dPositionRow");
  expectF32Close(downloadF32(gCol, 32 * D()), dPos[1], "dPositionColumn");
  run(true); // accumulating a second time doubles every gradient
  std::vector<float> twice(dTable.size());
  for (std::size_t i = 0; i < dTable.size(); ++i)
    twice[i] = 2 * dTable[i];
  expectF32Close(downloadF32(gTable, vocab * D()), twice, "accumulated dTokenTable");
}

TEST_P(ModelKernelsTest, LayerNormForward) {
  for (int rows : {1, 37, 1003}) {
    std::vector<float> x = randomBf16(rows * D(), rng, 2.0f, 3.0f); // mean 3: two-pass variance
    std::vector<float> gamma = randomBf16(D(), rng, 0.5f, 1.0f), beta = randomBf16(D(), rng, 0.5f);
    std::vector<float> y, mean, rstd;
    ref::layerNormForward(x, gamma, beta, D(), 1e-5f, y, mean, rstd);
    DeviceTensor dx = uploadBf16(x), dg = uploadBf16(gamma), db = uploadBf16(beta);
    DeviceTensor dy = poisoned(rows * D() * 2), dm = poisoned(rows * 4), dr = poisoned(rows * 4);
    auto run = [&] {
      k().layerNormForward(dx.as<bf16>(), dg.as<bf16>(), db.as<bf16>(), rows, dy.as<bf16>(),
                           dm.as<float>(), dr.as<float>());
      return dy.bytes();
    };
    std::vector<char> first = run();
    EXPECT_EQ(first, run()) << "not deterministic";
    expectBf16Close(downloadBf16(dy, rows * D()), y, "layernorm y");
    expectF32Close(downloadF32(dm, rows), mean, "mean");
    expectF32Close(downloadF32(dr, rows), rstd, "rstd");
  }
}

TEST_P(ModelKernelsTest, LayerNormBackward) {
  for (int rows : {37, 3001}) {
    std::vector<float> x = randomBf16(rows * D(), rng, 2.0f, 1.0f), dy = randomBf16(rows * D(), rng);
    std::vector<float> gamma = randomBf16(D(), rng, 0.5f, 1.0f), beta = randomBf16(D(), rng);
    std::vector<float> dresid = randomBf16(rows * D(), rng);
    std::vector<float> y, mean, rstd, dx, dgamma, dbeta;
    ref::layerNormForward(x, gamma, beta, D(), 1e-5f, y, mean, rstd);
    ref::layerNormBackward(dy, x, gamma, mean, rstd, dresid, D(), dx, dgamma, dbeta);

    DeviceTensor gx = uploadBf16(x), gdy = uploadBf16(dy), gg = uploadBf16(gamma);
    DeviceTensor gm = upload(mean), gr = upload(rstd), gres = uploadBf16(dresid);
    DeviceTensor gdg = poisoned(D() * 4), gdb = poisoned(D() * 4);
    DeviceTensor ws(k().layerNormBackwardWorkspaceBytes(rows));
    // In place: dx overwrites the residual gradient, as the model does.
    auto run = [&] {
      gres.upload(ref::toBf16(dresid));
      k().layerNormBackward(gdy.as<bf16>(), gx.as<bf16>(), gg.as<bf16>(), gm.as<float>(),
                            gr.as<float>(), gres.as<bf16>(), rows, gres.as<bf16>(),
                            gdg.as<float>(), gdb.as<float>(), false, ws.as<float>());
      std::vector<char> all = gres.bytes(), g = gdg.bytes();
      all.insert(all.end(), g.begin(), g.end());
      return all;
    };
    std::vector<char> first = run();
    EXPECT_EQ(first, run()) << "not deterministic";
    expectBf16Close(downloadBf16(gres, rows * D()), dx, "layernorm dx");
    expectF32Close(downloadF32(gdg, D()), dgamma, "dgamma");
    expectF32Close(downloadF32(gdb, D()), dbeta, "dbeta");
  }
}

TEST_P(ModelKernelsTest, GeluForwardAndBackwardWithBiasGradient) {
  for (int cols : {4 * D(), 40}) { // 40: a partial column tile
    const int rows = 1001;
    std::vector<float> x = randomBf16(rows * cols, rng, 2.0f), dy = randomBf16(rows * cols, rng);
    std::vector<float> y(x.size()), dx(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      y[i] = static_cast<float>(ref::gelu(x[i]));
      dx[i] = static_cast<float>(dy[i] * ref::geluGrad(x[i]));
    }
    DeviceTensor gx = uploadBf16(x), gdy = uploadBf16(dy);
    DeviceTensor gy = poisoned(x.size() * 2), gdx = poisoned(x.size() * 2);
    DeviceTensor gbias = poisoned(cols * 4), gbias2 = poisoned(cols * 4);
    DeviceTensor ws(k().columnSumWorkspaceBytes(rows, cols));
    // An odd element count exercises the tail of the element-wise loop.
    const std::int64_t n = static_cast<std::int64_t>(x.size()) - 3;
    k().geluForward(gx.as<bf16>(), n, gy.as<bf16>());
    std::vector<float> gpuY = downloadBf16(gy, n);
    expectBf16Close(gpuY, std::vector<float>(y.begin(), y.begin() + n), "gelu");
    auto run = [&] {
      k().geluBackward(gdy.as<bf16>(), gx.as<bf16>(), rows, cols, gdx.as<bf16>(), gbias.as<float>(),
                       false, ws.as<float>());
      return gbias.bytes();
    };
    std::vector<char> first = run();
    EXPECT_EQ(first, run()) << "not deterministic";
    std::vector<float> gpuDx = downloadBf16(gdx, x.size());
    expectBf16Close(gpuDx, dx, "gelu dx");
    // The fused bias gradient sums the dx it stored, exactly as biasGradient does.
    expectF32Close(downloadF32(gbias, cols), ref::columnSums(gpuDx, cols), "gelu dbias");
    k().biasGradient(gdx.as<bf16>(), rows, cols, gbias2.as<float>(), false, ws.as<float>());
    EXPECT_EQ(gbias.bytes(), gbias2.bytes()) << "fused and separate bias gradients differ";
  }
}

TEST_P(ModelKernelsTest, BiasGradientAccumulates) {
  const int rows = 3000, cols = 1544;
  std::vector<float> dy = randomBf16(rows * cols, rng), start = randomBf16(cols, rng);
  std::vector<float> sums = ref::columnSums(dy, cols);
  for (int c = 0; c < cols; ++c)
    sums[c] += start[c];
  DeviceTensor gdy = uploadBf16(dy), gb = upload(start), ws(k().columnSumWorkspaceBytes(rows, cols));
  k().biasGradient(gdy.as<bf16>(), rows, cols, gb.as<float>(), true, ws.as<float>());
  expectF32Close(downloadF32(gb, cols), sums, "accumulated dbias");
}

TEST_P(ModelKernelsTest, DropoutResidual) {
  const std::int64_t n = 100003;
  std::vector<float> x = randomBf16(n, rng), a = randomBf16(n, rng);
  DeviceTensor gx = uploadBf16(x), ga = uploadBf16(a), gy = poisoned(n * 2), gda = poisoned(n * 2);
  for (float p : {0.0f, 0.1f, 0.5f}) {
    const std::uint64_t seed = 0x1234'5678'9abcull + static_cast<std::uint64_t>(p * 10), offset = 77;
    k().dropoutResidualForward(gx.as<bf16>(), ga.as<bf16>(), n, p, seed, offset, gy.as<bf16>());
    std::vector<char> first = gy.bytes();
    k().dropoutResidualForward(gx.as<bf16>(), ga.as<bf16>(), n, p, seed, offset, gy.as<bf16>());
    EXPECT_EQ(first, gy.bytes()) << "not deterministic";
    expectBf16Close(downloadBf16(gy, n), ref::dropoutResidual(x, a, p, seed, offset), "dropout y");
    // Backward with a = dy: the mask is recomputed, exactly.
    k().dropoutBackward(ga.as<bf16>(), n, p, seed, offset, gda.as<bf16>());
    std::vector<float> da = downloadBf16(gda, n), exact = ref::dropoutResidual({}, a, p, seed, offset);
    expectBf16Close(da, exact, "dropout da");
    std::int64_t mismatched = 0;
    for (std::int64_t i = 0; i < n; ++i)
      mismatched += ((da[i] == 0.0f) != (exact[i] == 0.0f)) ? 1 : 0;
    EXPECT_EQ(mismatched, 0) << "mask differs from the reference at p=" << p;
  }
  // Another offset draws another mask.
  k().dropoutBackward(ga.as<bf16>(), n, 0.5f, 1, 1, gda.as<bf16>());
  std::vector<char> one = gda.bytes();
  k().dropoutBackward(ga.as<bf16>(), n, 0.5f, 1, 2, gda.as<bf16>());
  EXPECT_NE(one, gda.bytes());
}

TEST_P(ModelKernelsTest, CrossEntropy) {
  const int vocab = 256, rows = 1001;
  std::vector<float> logits = randomBf16(rows * vocab, rng, 3.0f);
  std::vector<std::int32_t> targets = randomTokens(rows, vocab, rng);
  targets[5] = 256; // invalid: NaN loss
  targets[7] = targets[8] = kIgnoreTarget; // no loss, zero gradient
  const float scale = 1.0f / rows;
  std::vector<float> loss, dlogits;
  ref::crossEntropy(logits, targets, vocab, scale, loss, dlogits);
  DeviceTensor gl = uploadBf16(logits), gt = upload(targets), gloss = poisoned(rows * 4);
  DeviceTensor gd = poisoned(rows * vocab * 2);
  k().crossEntropy(gl.as<bf16>(), gt.as<std::int32_t>(), rows, scale, gloss.as<float>(), nullptr);
  std::vector<float> forwardOnly = downloadF32(gloss, rows);
  EXPECT_TRUE(std::isnan(forwardOnly[5]));
  EXPECT_EQ(forwardOnly[7], 0.0f);
  EXPECT_EQ(forwardOnly[8], 0.0f);
  loss[5] = forwardOnly[5] = 0.0f;
  expectF32Close(forwardOnly, loss, "loss (forward only)");
  k().crossEntropy(gl.as<bf16>(), gt.as<std::int32_t>(), rows, scale, gloss.as<float>(), gd.as<bf16>());
  std::vector<char> first = gd.bytes();
  k().crossEntropy(gl.as<bf16>(), gt.as<std::int32_t>(), rows, scale, gloss.as<float>(), gd.as<bf16>());
  EXPECT_EQ(first, gd.bytes()) << "not deterministic";
  std::vector<float> g = downloadBf16(gd, rows * vocab);
  expectBf16Close(g, dlogits, "dlogits");
  for (int c = 0; c < 2 * vocab; ++c)
    ASSERT_EQ(g[7 * vocab + c], 0.0f) << "ignored rows 7 and 8, element " << c;
  // In place over the logits, as the model runs it.
  k().crossEntropy(gl.as<bf16>(), gt.as<std::int32_t>(), rows, scale, gloss.as<float>(), gl.as<bf16>());
  EXPECT_EQ(gl.bytes(), gd.bytes());
}

TEST_P(ModelKernelsTest, GradNormClipAndAdamW) {
  if (D() != 512)
    GTEST_SKIP() << "independent of d_model";
  const std::int64_t n = 1'000'003;
  std::vector<float> grad = randomVector(n, rng, 0.01f), master = randomVector(n, rng, 0.05f);
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  DeviceTensor gg = upload(grad), gmaster = upload(master), gm = upload(m), gv = upload(v);
  DeviceTensor gw = poisoned(n * 2), result = poisoned(sizeof(GradNormResult));
  DeviceTensor ws(k().gradNormWorkspaceBytes(n));
  auto norm = [&] {
    k().gradNorm(gg.as<float>(), n, 1.0f, result.as<GradNormResult>(), ws.as<float>());
    GradNormResult r;
    result.download(&r, sizeof r);
    return r;
  };
  GradNormResult r = norm(), again = norm(), exact = ref::gradNorm(grad, 1.0f);
  EXPECT_EQ(std::memcmp(&r, &again, sizeof r), 0) << "not deterministic";
  EXPECT_NEAR(r.norm, exact.norm, 1e-5 * exact.norm);
  EXPECT_NEAR(r.clipScale, exact.clipScale, 1e-5);
  EXPECT_LT(r.clipScale, 1.0f); // norm ~ 10: clipping is active
  EXPECT_EQ(r.nonFinite, 0);

  AdamWHyper h;
  for (std::int64_t step = 1; step <= 3; ++step) {
    h.step = step;
    k().adamW(gmaster.as<float>(), gg.as<float>(), gm.as<float>(), gv.as<float>(), gw.as<bf16>(), n,
              h, result.as<GradNormResult>());
    ref::adamW(master, grad, m, v, h, exact.clipScale);
  }
  std::vector<float> gpuMaster = downloadF32(gmaster, n);
  expectF32Close(gpuMaster, master, "master weights");
  expectF32Close(downloadF32(gm, n), m, "m");
  expectF32Close(downloadF32(gv, n), v, "v");
  EXPECT_EQ(downloadBf16(gw, n), ref::roundBf16(gpuMaster)) << "bf16 copy is not the rounded master";

  // A NaN anywhere sets the flag, and AdamW then changes nothing.
  grad[n / 2] = std::numeric_limits<float>::infinity();
  gg.upload(grad);
  EXPECT_EQ(norm().nonFinite, 1);
  std::vector<char> before = gmaster.bytes();
  h.step = 4;
  k().adamW(gmaster.as<float>(), gg.as<float>(), gm.as<float>(), gv.as<float>(), gw.as<bf16>(), n, h,
            result.as<GradNormResult>());
  EXPECT_EQ(before, gmaster.bytes());

  DeviceTensor converted = poisoned(n * 2);
  k().convertToBf16(gmaster.as<float>(), n, converted.as<bf16>());
  EXPECT_EQ(downloadBf16(converted, n), ref::roundBf16(gpuMaster));
}

TEST_P(ModelKernelsTest, InvalidTokenPoisonsItsRow) {
  std::vector<std::int32_t> tokens = {1, 999, 2};
  std::vector<float> table = randomBf16(256 * D(), rng);
  DeviceTensor dt = upload(tokens), tab = uploadBf16(table), out = poisoned(3 * D() * 2);
  k().embeddingForward(dt.as<std::int32_t>(), tab.as<bf16>(), {}, {}, 3, 3, out.as<bf16>());
  std::vector<float> o = downloadBf16(out, 3 * D());
  EXPECT_EQ(o[0], table[D()]);
  EXPECT_TRUE(std::isnan(o[D()]));
  EXPECT_EQ(o[2 * D()], table[2 * D()]);
}

TEST_P(ModelKernelsTest, EmbeddingRejectsBadPositionArguments) {
  // Checked before any launch, with the call and the offending values named.
  auto message = [](const std::function<void()> &f) {
    try {
      f();
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  DeviceTensor tok(64), tab(256 * D() * 2), pos(16 * D() * 2), out(16 * D() * 2), grad(16 * D() * 4);
  const bf16 *posTable = pos.as<bf16>();
  auto forward = [&](std::vector<PositionIndex> positions, int rows, int seqLen) {
    std::vector<const bf16 *> tables(positions.size(), posTable);
    k().embeddingForward(tok.as<std::int32_t>(), tab.as<bf16>(), positions, tables, rows, seqLen,
                         out.as<bf16>());
  };
  EXPECT_EQ(message([&] { forward({{1, 0}}, 4, 16); }),
            "embeddingForward: position component 0 has divisor 1 and modulus 0");
  EXPECT_EQ(message([&] { forward({}, 4, 0); }),
            "embeddingForward: rows 4 and sequence length 0 are invalid");
  EXPECT_EQ(message([&] {
              k().embeddingForward(tok.as<std::int32_t>(), tab.as<bf16>(), {{1, 16}}, {}, 4, 16,
                                   out.as<bf16>());
            }),
            "embeddingForward: 1 position components with 0 tables (at most " +
                std::to_string(kMaxPositionComponents) + ")");
  DeviceTensor ws(k().embeddingBackwardWorkspaceBytes(4, 16));
  EXPECT_EQ(message([&] {
              k().embeddingBackward(tok.as<std::int32_t>(), out.as<bf16>(), {{0, 16}}, 4, 16,
                                    grad.as<float>(), {grad.as<float>()}, false, ws.as<float>());
            }),
            "embeddingBackward: position component 0 has divisor 0 and modulus 16");
}

INSTANTIATE_TEST_SUITE_P(DModel, ModelKernelsTest, testing::Values(384, 512),
                         [](const testing::TestParamInfo<int> &info) {
                           return "d" + std::to_string(info.param);
                         });

} // namespace

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
