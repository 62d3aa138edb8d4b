"""The PyTorch side without a GPU (skipped without PyTorch): the fp64 oracle
passes gradcheck, the FlexAttention bridge reproduces sparta's masks, the
custom operators' fake implementations give the shapes of every layout and
head grouping, and a model using sparta.attention traces under torch.compile
(fullgraph, so a graph break fails)."""

import pytest

torch = pytest.importorskip("torch")

import sparta  # noqa: E402
from attention_reference import head_masks, reference_attention  # noqa: E402


def test_reference_passes_gradcheck_in_fp64():
    p = sparta.Pattern("fixed", T=24, L=4, c=2)     # has rows with no allowed key
    masks = head_masks(p, 4, "cpu")
    assert (~masks.any(-1)).any()
    q = torch.randn(1, 4, 24, 8, dtype=torch.float64, requires_grad=True)
    k = torch.randn(1, 2, 24, 8, dtype=torch.float64, requires_grad=True)
    v = torch.randn(1, 2, 24, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda q, k, v: reference_attention(q, k, v, masks, 0.3),
                                    (q, k, v))


@pytest.mark.parametrize("name,params", [("strided", dict(T=80, L=8)),
                                         ("fixed", dict(T=80, L=16, c=4)),
                                         ("bigbird", dict(T=80, L=8))])
def test_flex_mask_mod_reproduces_the_masks(name, params):
    p = sparta.Pattern(name, **params)
    mask_mod = sparta.flex_mask_mod(p)
    T = p.T
    q_idx = torch.arange(T).view(T, 1)
    kv_idx = torch.arange(T).view(1, T)
    for h in range(2 * p.num_heads):
        got = mask_mod(torch.tensor(0), torch.tensor(h), q_idx, kv_idx)
        assert torch.equal(got, p.mask(h % p.num_heads, torch=True)), h


def test_flex_attention_with_the_bridge_matches_the_reference():
    flex = pytest.importorskip("torch.nn.attention.flex_attention")
    p = sparta.Pattern("strided", T=128, L=16)
    B, H, T, d = 1, 2, 128, 16
    q, k, v = (torch.randn(B, H, T, d) for _ in range(3))
    block_mask = flex.create_block_mask(sparta.flex_mask_mod(p), B, H, T, T, device="cpu")
    out = flex.flex_attention(q, k, v, block_mask=block_mask, scale=0.25)
    ref = reference_attention(q.double(), k.double(), v.double(), head_masks(p, H, "cpu"), 0.25)
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layout,H,Hkv", [("bhtd", 4, 4), ("bthd", 4, 2), ("bhtd", 4, 1)])
def test_fake_tensors_give_the_shapes(layout, H, Hkv):
    from torch._subclasses.fake_tensor import FakeTensorMode
    p = sparta.Pattern("strided", T=128, L=16)
    shape = (lambda h: (2, h, 128, 64)) if layout == "bhtd" else (lambda h: (2, 128, h, 64))
    with FakeTensorMode():
        q = torch.empty(shape(H), dtype=torch.bfloat16, device="cuda")
        k = torch.empty(shape(Hkv), dtype=torch.bfloat16, device="cuda")
        v = torch.empty(shape(Hkv), dtype=torch.bfloat16, device="cuda")
        o, lse = torch.ops.sparta.attention_forward(q, k, v, p.key, layout, 0.0)
        assert o.shape == q.shape and o.dtype == q.dtype and lse.shape == (2, H, 128)
        # The backward operator's fake (the autograd engine itself needs a GPU).
        dq, dk, dv = torch.ops.sparta.attention_backward(o, q, k, v, o, lse, p.key, layout, 0.0)
        assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape


def test_compiles_without_graph_break():
    p = sparta.Pattern("strided", T=128, L=16)

    def loss(q, k, v):
        return sparta.attention(q, k, v, p, scale=0.125).float().square().sum()

    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    q = torch.randn(1, 2, 128, 32, dtype=torch.bfloat16, requires_grad=True)
    # Tracing (forward and, through AOT autograd, backward) succeeds with
    # fullgraph=True; only running the real operator on CPU tensors fails.
    with pytest.raises(ValueError, match="q must be a CUDA tensor"):
        compiled(q, q, q)


def test_operator_rejects_bad_inputs():
    p = sparta.Pattern("strided", T=128, L=16)
    q = torch.randn(1, 2, 128, 64, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="q must be a CUDA tensor"):
        sparta.attention(q, q, q, p)
    with pytest.raises(ValueError, match="layout must be 'bhtd' or 'bthd'"):
        sparta.attention(q, q, q, p, layout="bhdt")


class _RecordingLibrary:
    """Stands in for libsparta-c's forward: keeps the tensor records it is
    given, and hands every other call (a Pattern freed meanwhile) to `real`."""

    def __init__(self, real):
        self.calls = []
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def sparta_attention_forward(self, handle, q, k, v, o, lse, stream, ws, ws_bytes, cu_seqlens,
                                 num_documents):
        import ctypes
        import struct
        record = struct.Struct("<Q7q")   # sparta_c.h's struct sparta_tensor
        self.calls.append([record.unpack(ctypes.string_at(a, record.size))
                           for a in (q, k, v, o)] + [ws_bytes])
        return 0


@pytest.mark.parametrize("layout", ["bhtd", "bthd"])
def test_every_forward_call_passes_its_tensors_records(monkeypatch, layout):
    # The forward's host path remembers what a signature needs; the first call
    # and later ones with that signature must all hand libsparta the records
    # of the tensors of that call (written out here from their attributes).
    # CPU tensors stand in for CUDA ones; the C call is recorded.
    from sparta import _capi, ops

    class Kernels:
        handle = 1

        def workspace_bytes(self, backward, B, H, Hkv):
            return 256 * Hkv

    pattern = sparta.Pattern("strided", T=32, L=4)
    library = _RecordingLibrary(_capi.lib())
    monkeypatch.setattr(_capi, "_lib", library)
    monkeypatch.setattr(ops, "_check_inputs", lambda q, k, v, layout: q.get_device())
    monkeypatch.setattr(ops, "_kernels_for", lambda *args: Kernels())
    monkeypatch.setattr(ops, "_stream", lambda device: 0)
    monkeypatch.setattr(ops, "_forward_shapes", {})

    def record(t):
        s = t.stride()
        if layout == "bhtd":
            B, H, T, d = t.shape
            sb, sh, st = s[0], s[1], s[2]
        else:
            B, T, H, d = t.shape
            sb, sh, st = s[0], s[2], s[1]
        return (t.data_ptr(), B, H, T, d, sb if B > 1 else 0, sh if H > 1 else 0,
                st if T > 1 else 0)

    def qkv(heads, seed):
        g = torch.Generator().manual_seed(seed)
        shape = (2, heads, 32, 64) if layout == "bhtd" else (2, 32, heads, 64)
        return torch.randn(*shape, generator=g).to(torch.bfloat16)

    wide = torch.zeros(2, 32, 4, 128, dtype=torch.bfloat16)      # a strided view, read in place
    k_view = wide[..., :64] if layout == "bthd" else wide[..., :64].transpose(1, 2)
    for q, k, v in [(qkv(4, 0), qkv(2, 1), qkv(2, 2)), (qkv(4, 3), k_view, qkv(4, 4))]:
        for call in range(3):
            o = ops._forward_impl(q, k, v, pattern.key, layout, 0.0)[0]
            assert o.is_contiguous()
            got = library.calls[-1]
            assert got[:4] == [record(q), record(k), record(v), record(o)], call
            assert got[4] == 256 * (k.shape[1] if layout == "bhtd" else k.shape[2])
        assert len(ops._forward_shapes) >= 1
