"""sparta.Pattern on the CPU: loading, check, mask, emit and the errors, each
against the `sparta` tool's own output where the tool reports the same fact."""

import glob
import os
import subprocess

import numpy as np
import pytest

import sparta

PATTERNS_DIR = sparta.patterns_dir()
PATTERN_FILES = sorted(glob.glob(os.path.join(PATTERNS_DIR, "*.mlir")))
SPARTA_BIN = os.environ.get("SPARTA_BIN")


def cli(*args):
    if not SPARTA_BIN:
        pytest.skip("SPARTA_BIN (the sparta tool) not set")
    return subprocess.run([SPARTA_BIN, *args], capture_output=True, text=True)


def cli_report(path, *sets, layers=2):
    out = cli("check", path, *[f"--set={s}" for s in sets], f"--layers={layers}").stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def test_import_and_version():
    assert sparta.version().count(".") == 2
    assert len(PATTERN_FILES) >= 8


@pytest.mark.parametrize("path", PATTERN_FILES, ids=os.path.basename)
def test_check_agrees_with_the_tool(path):
    # Image patterns need a grid of H x W = T positions.
    grid = {"H": 16, "W": 32} if os.path.basename(path).startswith("image_") else {}
    p = sparta.Pattern(path, T=512, L=32, **grid)
    report = p.check(layers=2)
    tool = cli_report(path, "T=512", "L=32", *[f"{k}={v}" for k, v in grid.items()])
    assert report.valid == (tool["valid"] == "yes")
    assert report.overall.pairs == int(tool["pairs"])
    assert f"{report.work_ratio:.3f}" == tool["work-ratio"]
    assert len(report.heads) == p.num_heads == int(tool["heads"])
    assert [f"head {h}: {m}" for h, m in enumerate(p.heads)] == \
        [f"head {h}: {tool[f'head {h}']}" for h in range(p.num_heads)]


def test_check_reports_a_counterexample():
    # One layer of the strided pattern cannot connect query 100 to key 0.
    report = sparta.Pattern("strided", T=128, L=8).check(layers=1)
    assert not report.valid and report.counterexample is not None
    query, key = report.counterexample
    tool = cli_report(os.path.join(PATTERNS_DIR, "strided.mlir"), "T=128", "L=8", layers=1)
    assert tool["counterexample"] == f"query {query} cannot reach key {key} in 1 layer"
    assert sparta.Pattern("strided", T=128, L=8).check(layers=2).valid


def test_mask_of_strided_matches_its_definition():
    T, L = 96, 8
    p = sparta.Pattern("strided", T=T, L=L)
    i, j = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
    band = (i - j >= 0) & (i - j <= L)
    stride = (i >= j) & ((i - j) % L == 0)
    assert p.mask(0).dtype == bool
    assert np.array_equal(p.mask(0), band)
    assert np.array_equal(p.mask(1), stride)


@pytest.mark.parametrize("path", PATTERN_FILES, ids=os.path.basename)
def test_mask_agrees_with_the_tool(path):
    p = sparta.Pattern(path, T=100, L=10)
    for head in range(p.num_heads):
        rows = cli("mask", path, "--set=T=100", "--set=L=10", f"--head={head}").stdout.split()
        expected = np.array([[c == "1" for c in row] for row in rows])
        assert np.array_equal(p.mask(head), expected)


def test_bare_names_resolve_to_the_shipped_patterns():
    by_name = sparta.Pattern("fixed", T=256, L=32, c=8)
    by_path = sparta.Pattern(os.path.join(PATTERNS_DIR, "fixed.mlir"), T=256, L=32, c=8)
    assert by_name.heads == by_path.heads and by_name.params == by_path.params
    assert sparta.Pattern("fixed.mlir", T=256, L=32).params["c"] == 8   # the default


def test_source_text_and_rebinding():
    source = """
    sparta.pattern @two(T, L) {
      %local = sparta.band lo = 0, hi = L
      %stride = sparta.stride period = L
      sparta.heads %local, %stride
    }
    """
    p = sparta.Pattern(source, T=64, L=8)
    assert (p.name, p.T, p.num_heads) == ("two", 64, 2)
    q = p.with_params(T=128)
    assert (q.T, q.params["L"]) == (128, 8) and q.key != p.key
    assert np.array_equal(q.mask(1)[:64, :64], p.mask(1))


def test_emit_stages():
    p = sparta.Pattern("fixed", T=1024, L=64, c=16)
    plan = p.emit("plan")
    assert plan.startswith("sparta.plan @fixed(")
    tool_plan = cli("compile", os.path.join(PATTERNS_DIR, "fixed.mlir"), "--set=T=1024",
                    "--set=L=64", "--set=c=16", "--emit=plan").stdout
    assert plan == tool_plan
    cuda = p.emit("cuda", head_dim=128, dtype="fp16")
    assert 'extern "C" __global__' in cuda and "DType::FP16" in cuda
    ptx = p.emit("ptx", head_dim=32, arch="sm_80")
    assert ".target sm_80" in ptx and ".entry" in ptx


def test_syntax_error_raises_with_file_and_line(tmp_path):
    path = tmp_path / "broken.mlir"
    path.write_text("sparta.pattern @broken(T) {\n  %a = sparta.band lo = 0 hi = 4\n}\n")
    with pytest.raises(sparta.SpartaError) as error:
        sparta.Pattern(str(path), T=64)
    assert str(error.value).startswith(f"{path}:2:")
    assert "error:" in str(error.value)
    assert "%a = sparta.band lo = 0 hi = 4" in str(error.value)   # the source line is quoted


def test_source_errors_name_the_source_buffer():
    with pytest.raises(sparta.SpartaError, match=r"^<source>:3:\d+: error: "):
        sparta.Pattern("sparta.pattern @p(T) {\n  %a = sparta.band lo = 0, hi = 4\n"
                       "  sparta.heads %b\n}", T=64)


def test_parameter_errors():
    with pytest.raises(sparta.SpartaError, match=r"fixed\.mlir:\d+:\d+: error: .*'L'"):
        sparta.Pattern("fixed", T=256)                       # L has no default
    with pytest.raises(sparta.SpartaError, match=r"error: .*'Q'"):
        sparta.Pattern("fixed", T=256, L=32, Q=3)            # no such parameter
    with pytest.raises(sparta.SpartaError, match=r"cannot open 'no/such/file.mlir'"):
        sparta.Pattern("no/such/file.mlir", T=64)


def test_call_errors():
    p = sparta.Pattern("strided", T=64, L=8)
    with pytest.raises(sparta.SpartaError, match="head 2 is out of range: pattern 'strided' has 2 heads"):
        p.mask(2)
    with pytest.raises(sparta.SpartaError, match="unknown stage 'cubin'"):
        p.emit("cubin")
    with pytest.raises(sparta.SpartaError, match="head dim 48"):
        p.emit("cuda", head_dim=48)
    with pytest.raises(sparta.SpartaError, match="layers"):
        p.check(layers=0)


def test_missing_library_is_reported(tmp_path):
    env = {**os.environ, "SPARTA_LIBRARY": str(tmp_path / "nothing.so")}
    code = "import sparta\ntry:\n    sparta.version()\nexcept sparta.SpartaError as e:\n    print(e)\n"
    out = subprocess.run([os.sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "cannot find libsparta-c" in out.stdout and "nothing.so (no such file)" in out.stdout


def test_pattern_found_by_key():
    from sparta.pattern import pattern_of_key
    p = sparta.Pattern("strided", T=96, L=12)
    assert pattern_of_key(p.key) is p
    assert pattern_of_key(sparta.Pattern("strided", T=96, L=12).key) is p   # the first one made
    with pytest.raises(sparta.SpartaError, match="no pattern with key"):
        pattern_of_key("nowhere|none|T=1")


def test_period_says_where_documents_may_start():
    assert sparta.Pattern("strided", T=96, L=12).period == 1
    assert sparta.Pattern("fixed", T=96, L=12, c=3).period == 12
    assert sparta.Pattern("longformer", T=96, L=12).period is None
