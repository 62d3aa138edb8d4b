"""sparta.attention over packed documents (cu_seqlens) on a GPU (skipped
without PyTorch or a CUDA device): forward and backward against a torch
reference whose mask is built per document (the pattern at positions counted
from the document's start, nothing across a boundary), within the bound of
test_attention_gpu.py; one document per row equals the call without
cu_seqlens bit for bit; bad boundaries and patterns without a period are
refused."""

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

import sparta  # noqa: E402
from attention_reference import reference_attention  # noqa: E402
from test_attention_gpu import assert_within_bound, grads_of, random_qkv  # noqa: E402


def document_masks(pattern, H, cu):
    """[B, H, T, T] bool: head h of row b uses mask h mod num_heads within
    each of the row's documents, at local positions."""
    T = pattern.T
    heads = [pattern.mask(m, torch=True) for m in range(pattern.num_heads)]
    masks = torch.zeros(cu.shape[0], H, T, T, dtype=torch.bool)
    for b, bounds in enumerate(cu.tolist()):
        for s, e in zip(bounds[:-1], bounds[1:]):
            for h in range(H):
                masks[b, h, s:e, s:e] = heads[h % len(heads)][: e - s, : e - s]
    return masks.cuda()


def check_documents(pattern, bounds, H, d, dtype):
    B, T = len(bounds), pattern.T
    cu = torch.tensor(bounds, dtype=torch.int32, device="cuda")
    q, k, v = random_qkv(B, H, H, T, d, dtype)
    dout = torch.randn_like(q)
    masks = document_masks(pattern, H, cu)
    scale = d ** -0.5

    def ref_fn(cast):
        return lambda q, k, v: reference_attention(q.to(cast), k.to(cast), v.to(cast), masks,
                                                   scale)

    got = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern, cu_seqlens=cu), q, k, v,
                   dout)
    exact = grads_of(ref_fn(torch.float64), q, k, v, dout.double())
    lowp = grads_of(ref_fn(dtype), q, k, v, dout)
    assert_within_bound(got, lowp, exact)


# Ragged documents: shorter than a tile, empty ones, one ending at T; the
# fixed pattern's starts are multiples of L.
@pytest.mark.parametrize("name,params,bounds", [
    ("strided", dict(L=16), [[0, 5, 5, 70, 200, 256], [0, 256, 256, 256, 256, 256]]),
    ("local", dict(L=24), [[0, 1, 17, 130, 131, 256], [0, 64, 128, 192, 250, 256]]),
    ("fixed", dict(L=32, c=8), [[0, 32, 32, 96, 224, 256], [0, 64, 96, 128, 160, 256]]),
])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_documents_match_the_per_document_reference(name, params, bounds, dtype):
    check_documents(sparta.Pattern(name, T=256, **params), bounds, H=4, d=64, dtype=dtype)


@pytest.mark.parametrize("d", [32, 128])
def test_documents_head_dims(d):
    check_documents(sparta.Pattern("strided", T=192, L=16), [[0, 7, 100, 192]], H=2, d=d,
                    dtype=torch.bfloat16)


def test_one_document_is_the_unpacked_call_bit_for_bit():
    pattern = sparta.Pattern("strided", T=256, L=16)
    q, k, v = random_qkv(2, 4, 4, 256, 64, torch.bfloat16)
    dout = torch.randn_like(q)
    cu = torch.tensor([[0, 256], [0, 256]], dtype=torch.int32, device="cuda")
    packed = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern, cu_seqlens=cu), q, k, v,
                      dout)
    plain = grads_of(lambda q, k, v: sparta.attention(q, k, v, pattern), q, k, v, dout)
    for a, b in zip(packed, plain):
        assert torch.equal(a, b)


def test_bad_boundaries_and_unpackable_patterns_are_refused():
    pattern = sparta.Pattern("fixed", T=128, L=32)
    q, k, v = random_qkv(1, 2, 2, 128, 64, torch.bfloat16)

    def run(bounds, p=pattern):
        cu = torch.tensor([bounds], dtype=torch.int32, device="cuda")
        return sparta.attention(q, k, v, p, cu_seqlens=cu)
    with pytest.raises(sparta.SpartaError, match="not sorted"):
        run([0, 64, 32, 128])
    with pytest.raises(sparta.SpartaError, match="not a multiple of the pattern's period 32"):
        run([0, 40, 128])
    with pytest.raises(sparta.SpartaError, match="not T = 128"):
        run([0, 64, 100])
    with pytest.raises(sparta.SpartaError, match="cannot pack documents"):
        run([0, 64, 128], sparta.Pattern("longformer", T=128, L=32))
    with pytest.raises(ValueError, match="cu_seqlens must be int32"):
        sparta.attention(q, k, v, pattern, cu_seqlens=torch.tensor([[0, 128]], device="cuda"))
