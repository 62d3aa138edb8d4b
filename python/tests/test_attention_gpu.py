"""sparta.attention on a GPU (skipped without PyTorch or a CUDA device):
forward and backward of every pattern file against the fp64 reference, both
layouts, grouped-query attention, other head dims and dtypes, torch.compile,
CUDA-graph capture, non-contiguous inputs, PyTorch's current stream and
device selection.

Bound: a result may deviate from the fp64 reference by at most twice the
deviation of the straightforward implementation in the same dtype
(attention_reference.py), plus one unit in the dtype's last place at the
reference's magnitude (both round the same fp64 value to the dtype)."""

import glob
import os

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

import sparta  # noqa: E402
from attention_reference import head_masks, reference_attention  # noqa: E402

PATTERN_FILES = sorted(glob.glob(os.path.join(sparta.patterns_dir(), "*.mlir")))
ULP = {torch.bfloat16: 2.0 ** -8, torch.float16: 2.0 ** -11}


def random_qkv(B, H, Hkv, T, d, dtype, layout="bhtd", seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)

    def make(h):
        x = torch.randn(B, h, T, d, device="cuda", generator=g).to(dtype)
        return x if layout == "bhtd" else x.transpose(1, 2).contiguous()
    return make(H), make(Hkv), make(Hkv)


def to_bhtd(x, layout):
    return x if layout == "bhtd" else x.transpose(1, 2)


def grads_of(fn, q, k, v, dout):
    q, k, v = (x.detach().requires_grad_(True) for x in (q, k, v))
    out = fn(q, k, v)
    out.backward(dout)
    return [out.detach(), q.grad, k.grad, v.grad]


def assert_within_bound(results, lowp, exact, names=("o", "dq", "dk", "dv")):
    for name, got, low, ref in zip(names, results, lowp, exact):
        ref = ref.double()
        err = (got.double() - ref).abs().max().item()
        low_err = (low.double() - ref).abs().max().item()
        bound = 2 * low_err + ULP[got.dtype] * ref.abs().max().item()
        assert err <= bound, f"{name}: max error {err:.3e} exceeds {bound:.3e} (low-precision {low_err:.3e})"


def check_against_reference(pattern, B, H, Hkv, T, d, dtype, layout="bhtd", scale=None, seed=0):
    q, k, v = random_qkv(B, H, Hkv, T, d, dtype, layout, seed)
    dout = torch.randn_like(q)
    s = scale if scale is not None else d ** -0.5
    masks = head_masks(pattern.with_params(T=T) if pattern.T != T else pattern, H, "cuda")

    def ref_fn(cast):
        def fn(q, k, v):
            qq, kk, vv = (to_bhtd(x, layout).to(cast) for x in (q, k, v))
            o = reference_attention(qq, kk, vv, masks, s)
            return o if layout == "bhtd" else o.transpose(1, 2)
        return fn

    got = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern, scale=scale, layout=layout),
                   q, k, v, dout)
    exact = grads_of(ref_fn(torch.float64), q, k, v, dout.double())
    lowp = grads_of(ref_fn(dtype), q, k, v, dout)
    assert got[0].shape == q.shape and got[2].shape == k.shape
    assert_within_bound(got, lowp, exact)
    return got


@pytest.mark.parametrize("path", PATTERN_FILES, ids=os.path.basename)
@pytest.mark.parametrize("T", [320, 1000])
def test_every_pattern_forward_backward(path, T):
    params = {"T": T, "L": 32}
    with open(path) as f:
        if "sparta.grid_" in f.read():  # a grid of H rows of W positions, H * W = T
            params["W"] = 32 if T % 32 == 0 else 40
            params["H"] = T // params["W"]
    pattern = sparta.Pattern(path, **params)
    check_against_reference(pattern, B=2, H=4, Hkv=4, T=T, d=64, dtype=torch.bfloat16)


@pytest.mark.parametrize("d", [32, 64, 128])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_head_dims_and_dtypes(d, dtype):
    pattern = sparta.Pattern("fixed", T=512, L=64, c=16)
    check_against_reference(pattern, B=1, H=2, Hkv=2, T=512, d=d, dtype=dtype, scale=0.1)


@pytest.mark.parametrize("name", ["strided", "fixed_merged", "longformer"])
def test_bthd_layout(name):
    pattern = sparta.Pattern(name, T=448, L=32)
    check_against_reference(pattern, B=2, H=4, Hkv=4, T=448, d=64, dtype=torch.bfloat16,
                            layout="bthd")


@pytest.mark.parametrize("layout", ["bhtd", "bthd"])
@pytest.mark.parametrize("Hkv", [2, 1], ids=["gqa", "mqa"])
@pytest.mark.parametrize("name", ["strided", "fixed"])
def test_grouped_query_attention(name, Hkv, layout):
    pattern = sparta.Pattern(name, T=384, L=32)
    check_against_reference(pattern, B=2, H=6 if Hkv == 2 else 4, Hkv=Hkv, T=384, d=64,
                            dtype=torch.float16, layout=layout)


def test_grouped_gradients_are_deterministic():
    pattern = sparta.Pattern("fixed", T=512, L=64, c=16)
    q, k, v = random_qkv(1, 8, 2, 512, 64, torch.bfloat16)
    dout = torch.randn_like(q)
    first = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern), q, k, v, dout)
    second = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern), q, k, v, dout)
    for a, b in zip(first, second):
        assert torch.equal(a, b)


def test_non_contiguous_inputs_are_handled():
    pattern = sparta.Pattern("strided", T=256, L=16)
    q, k, v = random_qkv(2, 4, 4, 256, 64, torch.bfloat16)
    dout = torch.randn_like(q)
    expected = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern), q, k, v, dout)
    # A view with a row stride that is not a multiple of 8 (copied), one whose
    # last dimension is not contiguous (copied), and a strided slice read in place.
    padded = torch.zeros(2, 4, 256, 67, dtype=q.dtype, device="cuda")
    padded[..., :64] = q
    transposed = k.transpose(-1, -2).contiguous().transpose(-1, -2)
    wide = torch.zeros(2, 4, 256, 128, dtype=q.dtype, device="cuda")
    wide[..., 64:] = v
    inputs = (padded[..., :64], transposed, wide[..., 64:])
    assert not any(x.is_contiguous() for x in inputs)
    got = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern), *inputs, dout)
    for a, b in zip(got, expected):
        assert torch.equal(a, b)


def test_misaligned_contiguous_input_is_copied():
    pattern = sparta.Pattern("strided", T=256, L=16)
    q, k, v = random_qkv(1, 2, 2, 256, 64, torch.bfloat16)
    flat = torch.zeros(q.numel() + 1, dtype=q.dtype, device="cuda")
    flat[1:] = q.flatten()
    shifted = flat[1:].view(q.shape)          # contiguous, 2 bytes off 16-byte alignment
    assert shifted.is_contiguous() and shifted.data_ptr() % 16 != 0
    with torch.no_grad():
        # Aligned first (its signature is remembered), then the same signature
        # misaligned, then aligned again.
        aligned = sparta.attention(q, k, v, pattern)
        assert torch.equal(sparta.attention(shifted, k, v, pattern), aligned)
        assert torch.equal(sparta.attention(q, k, v, pattern), aligned)


def test_torch_compile_matches_eager():
    pattern = sparta.Pattern("fixed", T=512, L=64, c=16)
    q, k, v = random_qkv(2, 4, 2, 512, 64, torch.bfloat16)
    dout = torch.randn_like(q)

    def block(q, k, v):
        return sparta.attention(q * 1.5, k, v, pattern) * 2.0

    eager = grads_of(block, q, k, v, dout)
    compiled = grads_of(torch.compile(block, fullgraph=True), q, k, v, dout)
    for a, b in zip(compiled, eager):
        assert torch.equal(a, b)


def test_torch_compile_on_first_use():
    # The pattern's first use is inside the compiled graph: the op finds it by key.
    pattern = sparta.Pattern("strided", T=256, L=16)
    q, k, v = random_qkv(1, 2, 2, 256, 32, torch.bfloat16)
    dout = torch.randn_like(q)
    compiled = grads_of(torch.compile(lambda q, k, v: sparta.attention(q, k, v, pattern),
                                      fullgraph=True), q, k, v, dout)
    eager = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern), q, k, v, dout)
    for a, b in zip(compiled, eager):
        assert torch.equal(a, b)


def test_cuda_graph_capture_and_replay():
    pattern = sparta.Pattern("fixed_merged", T=512, L=64, c=16)   # merges: uses a workspace
    q, k, v = random_qkv(1, 4, 2, 512, 64, torch.bfloat16)
    static = [x.detach().clone().requires_grad_(True) for x in (q, k, v)]
    static_dout = torch.randn_like(q)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):                 # warm-up: compiles and caches the kernels
        for _ in range(2):
            for x in static:
                x.grad = None
            sparta.attention(*static, pattern).backward(static_dout)
    torch.cuda.current_stream().wait_stream(side)
    for x in static:
        x.grad = None
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = sparta.attention(*static, pattern)
        static_out.backward(static_dout)
    for seed in (1, 2):
        fresh = random_qkv(1, 4, 2, 512, 64, torch.bfloat16, seed=seed)
        with torch.no_grad():
            for x, y in zip(static, fresh):
                x.copy_(y)
        graph.replay()
        expected = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern), *fresh, static_dout)
        got = [static_out] + [x.grad for x in static]
        for a, b in zip(got, expected):
            assert torch.equal(a, b)


def test_runs_on_the_current_stream():
    pattern = sparta.Pattern("strided", T=1024, L=32)
    q, k, v = random_qkv(4, 8, 8, 1024, 64, torch.bfloat16)
    expected = sparta.attention(q, k, v, pattern)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        torch.cuda._sleep(20_000_000)             # keeps the side stream busy first
        out = sparta.attention(q, k, v, pattern)
        done = torch.cuda.Event()
        done.record(side)
    torch.cuda.current_stream().wait_event(done)
    assert torch.equal(out, expected)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_second_device():
    pattern = sparta.Pattern("strided", T=256, L=16)
    before = torch.cuda.current_device()
    q, k, v = random_qkv(1, 2, 2, 256, 64, torch.bfloat16)
    expected = sparta.attention(q, k, v, pattern)
    q1, k1, v1 = (x.to("cuda:1") for x in (q, k, v))
    out = sparta.attention(q1, k1, v1, pattern)
    assert out.device == torch.device("cuda:1")
    assert torch.cuda.current_device() == before
    assert torch.equal(out.cpu(), expected.cpu())


def test_errors_raise_with_sparta_messages():
    pattern = sparta.Pattern("strided", T=256, L=16)
    q = torch.randn(1, 2, 256, 48, dtype=torch.bfloat16, device="cuda")
    with pytest.raises(sparta.SpartaError, match="head dim 48"):
        sparta.attention(q, q, q, pattern)
    q = torch.randn(1, 4, 256, 64, dtype=torch.bfloat16, device="cuda")
    kv = torch.randn(1, 3, 256, 64, dtype=torch.bfloat16, device="cuda")
    with pytest.raises(sparta.SpartaError, match="number of heads that divides q's"):
        sparta.attention(q, kv, kv, pattern)
    with pytest.raises(ValueError, match="must be bf16 or fp16"):
        sparta.attention(q.float(), q.float(), q.float(), pattern)


def test_flex_attention_agrees_with_sparta():
    flex = pytest.importorskip("torch.nn.attention.flex_attention")
    pattern = sparta.Pattern("fixed", T=1024, L=64, c=16)
    q, k, v = random_qkv(1, 4, 4, 1024, 64, torch.bfloat16)
    block_mask = flex.create_block_mask(sparta.flex_mask_mod(pattern, device="cuda"),
                                        1, 4, 1024, 1024, device="cuda")
    got = sparta.attention(q, k, v, pattern).double()
    ref = reference_attention(q.double(), k.double(), v.double(), head_masks(pattern, 4, "cuda"),
                              64 ** -0.5)
    theirs = torch.compile(flex.flex_attention)(q, k, v, block_mask=block_mask).double()
    # Both within the same low-precision distance of the fp64 reference.
    low = reference_attention(q, k, v, head_masks(pattern, 4, "cuda"), 64 ** -0.5).double()
    bound = 2 * (low - ref).abs().max().item() + ULP[torch.bfloat16] * ref.abs().max().item()
    assert (got - ref).abs().max().item() <= bound
    assert (theirs - ref).abs().max().item() <= bound
