#!/usr/bin/env bash
# `pip install .` of the repository into a fresh virtual environment (offline:
# Debian's setuptools and wheel, the libraries of the given build tree), then
# the installed package used from outside the source tree.
#   pip_install_test.sh PYTHON SOURCE_DIR BUILD_DIR
set -euo pipefail
python=$1 source=$2 build=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
SPARTA_BUILD_DIR=$build "$work/venv/bin/pip" install --quiet --no-index --no-deps \
  --no-build-isolation "$source"
cd "$work"
SPARTA_SOURCE=$source env -u SPARTA_LIBRARY -u SPARTA_PATTERNS_DIR -u PYTHONPATH "$work/venv/bin/python" - <<'PY'
import os
import sparta

here = os.path.dirname(sparta.__file__)
assert not here.startswith(os.environ.get("SPARTA_SOURCE", "/nonexistent")), here
p = sparta.Pattern("fixed", T=256, L=32, c=8)      # a shipped pattern, by name
report = p.check(layers=2)
assert report.valid and report.work_ratio >= 1.0, report
assert p.mask(0).shape == (256, 256)
try:
    sparta.Pattern("sparta.pattern @p(T) {\n  sparta.heads %x\n}", T=64)
    raise SystemExit("a bad pattern did not raise")
except sparta.SpartaError as e:
    assert str(e).startswith("<source>:2:"), e
print(f"installed sparta {sparta.version()} at {here}: {report}")
PY
