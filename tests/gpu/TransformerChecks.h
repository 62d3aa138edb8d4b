//===- TransformerChecks.h - What the GPU model and trainer tests share ----===//
//
// Shared by TransformerTest.cpp, PackedTrainingTest.cpp and DecoderTest.cpp:
// the pattern files of the source tree (or of a copied tree, run from its
// root), the gradient check against the CPU reference (tolerance explained
// in TransformerTest.cpp) and the short GCIDE run whose loss must fall.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sparta/model/ModelConfig.h"
#include "sparta/model/Trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace sparta::model::test {

inline std::string patternFile(const std::string &name) {
  std::string p = std::string(SPARTA_SOURCE_DIR) + "/patterns/" + name;
  if (std::filesystem::exists(p)) return p;
  return "patterns/" + name; // run from the repository root of a copied tree
}

/// GCIDE's .dict.dz: SPARTA_GCIDE, else where Debian installs it.
inline std::string gcidePath() {
  const char *env = std::getenv("SPARTA_GCIDE");
  return env ? env : kGcidePath;
}

inline double l2(const float *a, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * a[i];
  return std::sqrt(s);
}

/// Expects every tensor's gradient within 4% of the reference's L2 norm (plus
/// 1e-6 for tensors whose gradient is ~0); returns the worst relative error
/// and its tensor.
inline std::pair<double, std::string> expectGradientsNear(const ParameterLayout &layout,
                                                          const std::vector<float> &grads,
                                                          const std::vector<float> &want) {
  double worst = 0;
  std::string worstName;
  for (const ParamSpec &p : layout.params) {
    const float *g = grads.data() + p.offset, *r = want.data() + p.offset;
    std::vector<float> diff(p.numel);
    for (int64_t i = 0; i < p.numel; ++i) diff[i] = g[i] - r[i];
    double err = l2(diff.data(), p.numel), ref = l2(r, p.numel);
    double rel = err / (ref + 1e-12);
    if (rel > worst) worst = rel, worstName = p.name;
    EXPECT_LE(err, 0.04 * ref + 1e-6) << p.name << ": |g - ref| = " << err << ", |ref| = " << ref;
  }
  return {worst, worstName};
}

/// 50 steps of a 2 x 128 model at T = 256 on GCIDE at `path`: the mean loss
/// of the last 5 steps must be below 70% of the first, the validation below
/// 5 bits/byte. `what` names the run in the printed line.
inline void expectLossFallsOnGcide(const std::string &path, bool pack, const char *what) {
  TrainerConfig t;
  t.data = "gcide";
  t.dataPath = path;
  t.pack = pack;
  t.model.layers = 2, t.model.dModel = 128, t.model.heads = 2, t.model.T = 256;
  t.model.patternPath = patternFile("fixed.mlir");
  t.model.patternParams = {{"L", 16}, {"c", 4}};
  t.batch = 16, t.steps = 50, t.lr = 3e-3, t.warmup = 5, t.evalEvery = 50, t.evalRows = 32;
  t.progress = false;
  TrainResult r = Trainer(t).run();
  ASSERT_EQ(r.losses.size(), 50u);
  double last = 0;
  for (int i = 45; i < 50; ++i) last += r.losses[i] / 5;
  std::printf("%s: loss %.3f -> %.3f (last 5 mean), validation %.3f bits/byte, %.0f tokens/s\n",
              what, r.losses[0], last, r.validationBits, r.tokensPerSec);
  EXPECT_LT(last, 0.7 * r.losses[0]);
  EXPECT_LT(r.validationBits, 5.0);
}

} // namespace sparta::model::test
