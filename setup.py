"""Builds the `sparta` wheel: python/sparta plus libsparta-c, libsparta-runtime
and the pattern files, laid out as a prefix inside the package (sparta/lib,
sparta/share/sparta/patterns) so that the library and the package find them
as in an install tree.

The libraries come from the CMake build tree $SPARTA_BUILD_DIR (default
build/); when libsparta-c is not built there yet, it is configured and built
first (which needs the toolchain scripts/bootstrap installs).
"""

import glob
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))
LIBRARIES = ("libsparta-c.so.0", "libsparta-runtime.so.0")


def build_dir():
    return os.path.abspath(os.environ.get("SPARTA_BUILD_DIR", os.path.join(ROOT, "build")))


def ensure_built(build):
    if os.path.exists(os.path.join(build, "lib", LIBRARIES[0])):
        return
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        subprocess.check_call(["cmake", "-S", ROOT, "-B", build, "-G", "Ninja",
                               "-DCMAKE_BUILD_TYPE=Release"])
    subprocess.check_call(["cmake", "--build", build, "--target", "sparta-c"])


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        build = build_dir()
        ensure_built(build)
        package = os.path.join(self.build_lib, "sparta")
        lib = os.path.join(package, "lib")
        patterns = os.path.join(package, "share", "sparta", "patterns")
        os.makedirs(lib, exist_ok=True)
        os.makedirs(patterns, exist_ok=True)
        for name in LIBRARIES:
            # copy the file the SONAME link points to, under the SONAME
            shutil.copyfile(os.path.join(build, "lib", name), os.path.join(lib, name))
            os.chmod(os.path.join(lib, name), 0o755)
        for pattern in glob.glob(os.path.join(ROOT, "patterns", "*.mlir")):
            shutil.copy(pattern, patterns)


class BinaryDistribution(Distribution):
    """The wheel holds shared libraries: it is platform-specific."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution,
      options={"build": {"build_base": os.path.join(build_dir(), "python-wheel")}})
