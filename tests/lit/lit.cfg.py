# lit configuration for sparta's FileCheck tests: every .mlir and .test file below
# tests/lit is a test; %sparta_src is the source root (for patterns/), %python the
# Python running lit. Feature "cuda-device": a CUDA device is usable here, so the
# tools that need one run instead of exiting 77.
import ctypes
import os
import sys
import lit.formats

config.name = "sparta"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sparta_tools_dir, "..", "tests", "lit")
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]
config.environment["PATH"] = os.pathsep.join(
    [config.sparta_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
# Tests must not depend on, or pollute, the user's kernel cache.
config.environment["SPARTA_CACHE_DIR"] = os.path.join(config.test_exec_root, "kernel-cache")
config.substitutions.append(("%sparta_src", config.sparta_src_root))
# The kernel cache tests hand folders to another user, which only root can do.
if os.geteuid() == 0:
    config.available_features.add("root")
config.substitutions.append(("%python", sys.executable))


def cuda_device_present():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0


if cuda_device_present():
    config.available_features.add("cuda-device")
