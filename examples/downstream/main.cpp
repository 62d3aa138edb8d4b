// A downstream C++ program: load a shipped pattern, check it, plan it and
// compile its kernels to PTX (no GPU needed); on a GPU, run one forward.
#include "sparta/Compiler.h"
#include "sparta/Error.h"
#include "sparta/Frontend.h"
#include "sparta/SparseAttention.h"
#include "sparta/Validity.h"

#include <cstdio>
#include <vector>

int main() {
  try {
    const std::string path = std::string(PATTERNS_DIR) + "/fixed.mlir";
    sparta::ConcretePattern pattern = sparta::loadPattern(path, {{"T", 1024}, {"L", 64}, {"c", 16}});
    sparta::ValidityResult validity = sparta::checkValidity(pattern);
    sparta::CompileOptions options;
    options.kernel.arch = "sm_80";
    options.wantCubin = false;
    options.useCache = false;
    sparta::CompiledKernels kernels = sparta::compileKernels(pattern, options);
    std::printf("%s: %zu heads, valid over 2 layers: %s, %zu kernels, %zu bytes of PTX\n",
                pattern.name.c_str(), pattern.heads.size(), validity.valid ? "yes" : "no",
                kernels.source.kernels.size(), kernels.module.ptx.size());
    if (!validity.valid || kernels.module.ptx.find(".entry") == std::string::npos)
      return 1;

    std::string why;
    if (!sparta::rt::cudaAvailable(&why)) {
      std::printf("no GPU (%s): forward skipped\n", why.c_str());
      return 0;
    }
    sparta::SparseAttention attention(pattern, sparta::AttentionConfig{});
    const int64_t B = 1, H = 2, T = pattern.T, d = 64;
    std::vector<uint16_t> ones(size_t(B * H * T * d), 0x3f80); // bf16 1.0
    sparta::rt::DeviceBuffer q(ones.size() * 2), o(ones.size() * 2), lse(size_t(B * H * T) * 4);
    q.upload(ones.data(), ones.size() * 2);
    sparta::rt::Stream stream;
    const sparta::TensorView view = sparta::TensorView::bhtd(q.ptr(), B, H, T, d);
    attention.forward(view, view, view, sparta::TensorView::bhtd(o.ptr(), B, H, T, d), lse.ptr(),
                      stream);
    stream.synchronize();
    o.download(ones.data(), ones.size() * 2);
    // v = 1 everywhere: every row with an allowed key averages to 1.
    std::printf("forward on the GPU: o[1] = %s\n", ones[d] == 0x3f80 ? "1 (expected)" : "wrong");
    return ones[d] == 0x3f80 ? 0 : 1;
  } catch (const sparta::Error &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
