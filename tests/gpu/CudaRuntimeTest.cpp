//===- CudaRuntimeTest.cpp - The Driver API layer on a real GPU -------------===//
//
// Memory round trips, module loading (CUBIN, and the PTX fallback when the
// CUBIN is unusable), launches, events, lanes forked from and joined into a
// stream, and the error messages users see.
// Exits 77 (skipped) without a CUDA driver.
//
//===----------------------------------------------------------------------===//
#include "GpuTestMain.h"
#include "sparta/Error.h"
#include "sparta/runtime/AttentionLaunch.h"
#include "sparta/runtime/Cuda.h"
#include "sparta/runtime/Lanes.h"
#include "sparta/runtime/Nvrtc.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>

using namespace sparta;
using namespace sparta::rt;

namespace {

const char *kSaxpy = R"(
#include <sparta/params.h>
extern "C" __global__ void saxpy(float a, const float *x, float *y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    y[i] = a * x[i] + y[i];
}
)";

CompiledModule compileSaxpy() {
  CompileOptions o;
  o.arch = Context::get().device().arch();
  return compileCuda(kSaxpy, "saxpy.cu", o);
}

TEST(CudaRuntime, DeviceInfo) {
  const DeviceInfo &d = Context::get().device();
  EXPECT_GE(d.major, 8) << "sparta kernels need sm_80 or newer";
  EXPECT_GT(d.multiProcessors, 0);
  EXPECT_GT(d.maxSharedPerBlockOptin, 48 * 1024);
  auto [free, total] = Context::get().memoryInfo();
  EXPECT_GT(total, free / 2);
}

TEST(CudaRuntime, BufferRoundTripAndZero) {
  std::vector<int> a(1000);
  std::iota(a.begin(), a.end(), 7);
  DeviceBuffer buf(a.size() * sizeof(int));
  buf.upload(a.data(), buf.size());
  std::vector<int> b(a.size());
  buf.download(b.data(), buf.size());
  EXPECT_EQ(a, b);
  buf.zero();
  buf.download(b.data(), buf.size());
  EXPECT_EQ(std::accumulate(b.begin(), b.end(), 0), 0);
  EXPECT_THROW(buf.upload(a.data(), buf.size() + 4), Error);
}

TEST(CudaRuntime, LaunchFromCubinAndFromPtx) {
  CompiledModule cm = compileSaxpy();
  const int n = 4096;
  std::vector<float> x(n, 2.f), y(n, 1.f);
  for (bool viaPtx : {false, true}) {
    // A garbage CUBIN makes the loader fall back to the PTX.
    std::vector<char> cubin = viaPtx ? std::vector<char>(256, 'x') : cm.cubin;
    Module m(cubin, cm.ptx, "saxpy");
    EXPECT_EQ(m.loadedFromPtx(), viaPtx);
    Function f = m.function("saxpy");
    EXPECT_GT(f.numRegisters(), 0);
    DeviceBuffer dx(n * 4), dy(n * 4);
    dx.upload(x.data(), n * 4);
    dy.upload(y.data(), n * 4);
    Stream s;
    Event a, b;
    a.record(&s);
    launch(f, Dim3{n / 256}, Dim3{256}, 0, &s, 3.f, dx.as<float>(), dy.as<float>(), n);
    b.record(&s);
    s.synchronize();
    EXPECT_GE(b.elapsedSince(a), 0.f);
    std::vector<float> out(n);
    dy.download(out.data(), n * 4);
    EXPECT_EQ(out[0], 7.f);
    EXPECT_EQ(out[n - 1], 7.f);
  }
}

TEST(CudaRuntime, ErrorsNameTheCallAndKernel) {
  CompiledModule cm = compileSaxpy();
  Module m(cm.cubin, cm.ptx, "saxpy");
  try {
    m.function("no_such_kernel");
    FAIL();
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cuModuleGetFunction"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no_such_kernel"), std::string::npos) << msg;
    EXPECT_NE(msg.find("CUDA_ERROR_NOT_FOUND"), std::string::npos) << msg;
  }
  Function f = m.function("saxpy");
  try {
    launch(f, Dim3{1}, Dim3{4096}, 0, nullptr, 1.f, nullptr, nullptr, 0); // too many threads
    FAIL();
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cuLaunchKernel"), std::string::npos) << msg;
    EXPECT_NE(msg.find("saxpy"), std::string::npos) << msg;
  }
  try {
    Module bad(std::vector<char>(256, 'x'), "not ptx", "broken");
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("broken"), std::string::npos) << e.what();
  }
}

TEST(CudaRuntime, LaunchHelpersValidate) {
  HeadArgs h{2, 4, 100, 3, 2, 2}; // heads 3 and 5 of 4: out of range
  EXPECT_THROW(validateHeads(h, 64, "test"), Error);
  h.head_offset = 1;
  EXPECT_NO_THROW(validateHeads(h, 64, "test"));
  EXPECT_THROW(validateHeads(h, 48, "test"), Error);
  TensorArg t = tensorBTHD(0x1000, 8, 1024, 64);
  EXPECT_EQ(t.stride_t, 8 * 64);
  EXPECT_EQ(t.stride_h, 64);
  EXPECT_EQ(t.stride_b, 1024LL * 8 * 64);
}

// Lanes order their work after what the main stream queued before the fork,
// and the main stream's later work after every lane's. A chain of launches
// before the fork and one after the join read what the other side wrote;
// without the events' waits they would read it unfinished.
TEST(CudaRuntime, LanesForkAndJoin) {
  CompiledModule cm = compileSaxpy();
  Module m(cm.cubin, cm.ptx, "saxpy");
  Function f = m.function("saxpy");
  const int n = 1 << 22, chain = 40, count = 3;
  const std::vector<float> ones(n, 1.f);
  DeviceBuffer one(n * 4), x(n * 4), sum(n * 4);
  std::vector<DeviceBuffer> y;
  one.upload(ones.data(), n * 4);
  Stream main;
  Lanes lanes;
  for (int round = 0; round < 2; ++round) { // the second round reuses the streams
    x.zero(&main);
    sum.zero(&main);
    for (int i = 0; i < chain; ++i) // x = chain
      launch(f, Dim3{n / 256}, Dim3{256}, 0, &main, 1.f, one.as<float>(), x.as<float>(), n);
    lanes.fork(main, count);
    for (int i = 0; i < count; ++i) {
      if (round == 0)
        y.emplace_back(n * 4);
      y[i].zero(&lanes.lane(i));
      launch(f, Dim3{n / 256}, Dim3{256}, 0, &lanes.lane(i), float(i + 1), x.as<float>(),
             y[i].as<float>(), n); // y_i = (i + 1) x
    }
    EXPECT_EQ(lanes.lane(0).handle(), main.handle());
    EXPECT_THROW(lanes.lane(count), Error);
    lanes.join(main);
    for (int i = 0; i < count; ++i)
      launch(f, Dim3{n / 256}, Dim3{256}, 0, &main, 1.f, y[i].as<float>(), sum.as<float>(), n);
    main.synchronize(); // the main stream alone
    std::vector<float> out(n);
    sum.download(out.data(), n * 4);
    const float want = float(chain * count * (count + 1) / 2);
    EXPECT_EQ(out[0], want) << "round " << round;
    EXPECT_EQ(out[n - 1], want) << "round " << round;
  }
  lanes.fork(main, 1); // one lane: the main stream, no side stream
  EXPECT_EQ(lanes.lane(0).handle(), main.handle());
  EXPECT_THROW(lanes.lane(1), Error);
  lanes.join(main);
}

} // namespace

int main(int argc, char **argv) { return sparta::test::runGpuTests(argc, argv); }
