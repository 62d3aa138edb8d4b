"""sparta.attention: the PyTorch operator, differentiable, over libsparta-c.

Two custom operators (torch.library.custom_op), sparta::attention_forward and
sparta::attention_backward, each with a fake (meta) implementation so that
torch.compile traces through them without a graph break; the backward is the
forward's registered autograd formula. Eagerly, sparta.attention calls the
same two implementations through a torch.autograd.Function (or directly when
no gradient is needed): the custom-operator machinery costs several times the
rest of a call on the host, and only the compiler needs it. Inside, a call:

  * finds the kernels of (pattern, T, d, dtype, device, scale) in an
    in-process cache (on a miss libsparta compiles them, or reads them from
    the on-disk kernel cache, and loads them on the tensors' device);
  * allocates its outputs and its fp32 workspace with PyTorch (the caching
    allocator, so a CUDA graph capture gets them from its private pool);
  * launches on PyTorch's current stream of that device.

A forward remembers each argument signature (shapes, strides, dtypes,
devices, pattern, layout, scale) whose tensors the kernels read in place;
a later call with that signature skips the checks and the building of the
tensor records and only writes the data pointers into them.

No call synchronizes, allocates outside PyTorch or compiles once the kernels
are cached: after one eager call (a warm-up), calls can be captured in a CUDA
graph. Calls with cu_seqlens (packed documents) are the exception: libsparta
copies the boundaries to the host to check them, which waits for the stream.
"""

import ctypes
import threading
from typing import Optional, Tuple

import torch

from . import _capi
from .pattern import Pattern, pattern_of_key

_DTYPES = {torch.bfloat16: "bf16", torch.float16: "fp16"}
_LAYOUTS = ("bhtd", "bthd")

_kernels = {}          # (key, T, d, dtype, device, scale) -> _Kernels
_lock = threading.Lock()


class _Kernels:
    """One libsparta attention handle and the sizes it was asked for."""

    def __init__(self, pattern: Pattern, head_dim: int, dtype: str, scale: float, device: int):
        self.pattern = pattern  # keeps the pattern handle alive as long as the kernels
        handle = ctypes.c_void_p()
        _capi.check(_capi.lib().sparta_attention_create(
            pattern._handle, head_dim, dtype.encode(), scale, device, 1, None,
            ctypes.byref(handle)))
        self.handle = handle
        self._workspace = {}

    def workspace_bytes(self, backward: int, B: int, H: int, Hkv: int) -> int:
        key = (backward, B, H, Hkv)
        size = self._workspace.get(key)
        if size is None:
            out = ctypes.c_uint64()
            _capi.check(_capi.lib().sparta_attention_workspace_bytes(
                self.handle, backward, B, H, Hkv, ctypes.byref(out)))
            size = self._workspace[key] = out.value
        return size

    def __del__(self):
        # At interpreter exit the module's globals may already be gone.
        if getattr(self, "handle", None) and _capi is not None and _capi._lib is not None:
            _capi._lib.sparta_attention_free(self.handle)


def clear_cache():
    """Releases every compiled kernel set held by the operator (the on-disk
    kernel cache stays)."""
    with _lock:
        _forward_shapes.clear()
        _kernels.clear()


def _shape(t: torch.Tensor, layout: str):
    """(B, H, T, d) of a tensor in `layout`."""
    if t.dim() != 4:
        raise ValueError(f"sparta.attention: expected a 4-d tensor in layout {layout}, "
                         f"got shape {tuple(t.shape)}")
    B, x, y, d = t.shape
    return (B, x, y, d) if layout == "bhtd" else (B, y, x, d)


def _kernels_for(key: str, T: int, d: int, dtype: torch.dtype, device: int,
                 scale: float) -> _Kernels:
    cache_key = (key, T, d, dtype, device, scale)
    found = _kernels.get(cache_key)
    if found is not None:
        return found
    with _lock:
        found = _kernels.get(cache_key)
        if found is None:
            pattern = pattern_of_key(key)
            if pattern.T != T:
                pattern = pattern.with_params(T=T)
            found = _kernels[cache_key] = _Kernels(pattern, d, _DTYPES[dtype], scale, device)
    return found


def _record(shape, stride, data: int, layout: str):
    """The sparta_tensor record (_capi.TensorRecords) of a tensor with this
    shape, strides and data pointer in `layout`."""
    B, x, y, d = shape
    if layout == "bhtd":
        H, T, sh, st = x, y, stride[1], stride[2]
    else:
        H, T, sh, st = y, x, stride[2], stride[1]
    # A dimension of size 1 is never stepped over; its stride may be anything.
    return (data, B, H, T, d, stride[0] if B > 1 else 0, sh if H > 1 else 0, st if T > 1 else 0)


def _contiguous_strides(shape):
    _, x, y, d = shape
    return (x * y * d, y * d, d, 1)


def _in_place(t: torch.Tensor, layout: str):
    """(u, record): u is t itself when the kernels can read it in place (d
    contiguous, 16-byte aligned, strides multiples of 8 elements), else a
    contiguous copy (16-byte aligned: PyTorch's allocator aligns more);
    record is u's sparta_tensor record."""
    s, data = t.stride(), t.data_ptr()
    if not (s[3] == 1 and data % 16 == 0 and s[0] % 8 == 0 and s[1] % 8 == 0 and s[2] % 8 == 0):
        # Strides of size-1 dimensions do not count.
        if not (s[3] == 1 and data % 16 == 0
                and all(st % 8 == 0 for n, st in zip(t.shape[:3], s[:3]) if n > 1)):
            # A fresh copy: contiguous() would return a misaligned contiguous t itself.
            t = t.clone(memory_format=torch.contiguous_format)
            s, data = t.stride(), t.data_ptr()
    return t, _record(t.shape, s, data, layout)


def _check_inputs(q, k, v, layout) -> int:
    """Raises on inputs the kernels do not take; returns q's device index."""
    if layout not in _LAYOUTS:
        raise ValueError(f"sparta.attention: layout must be 'bhtd' or 'bthd', not {layout!r}")
    device = q.get_device()
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not t.is_cuda:
            raise ValueError(f"sparta.attention: {name} must be a CUDA tensor (got {t.device})")
        if t.dtype not in _DTYPES:
            raise ValueError(f"sparta.attention: {name} must be bf16 or fp16 (got {t.dtype})")
        if t.dtype != q.dtype or t.get_device() != device:
            raise ValueError(f"sparta.attention: {name} has dtype {t.dtype} on {t.device}; "
                             f"q has {q.dtype} on {q.device}")
    if k.shape != v.shape:
        raise ValueError(f"sparta.attention: k {tuple(k.shape)} and v {tuple(v.shape)} differ")
    return device


# PyTorch's current stream of a device as a CUstream. torch.cuda.current_stream
# builds a Stream object per call (microseconds on the host path);
# _cuda_getCurrentRawStream, which Triton's launcher uses too, returns the
# handle itself. Both give the same stream.
if hasattr(torch._C, "_cuda_getCurrentRawStream"):
    _stream = torch._C._cuda_getCurrentRawStream
else:
    def _stream(device: int) -> int:
        return torch.cuda.current_stream(device).cuda_stream


class _ForwardShape:
    """What a forward of one argument signature needs besides the data
    pointers (_forward_shape finds it)."""

    __slots__ = ("kernels", "device", "ws_bytes", "lse_shape", "records")

    def __init__(self, kernels, device, ws_bytes, lse_shape, records):
        self.kernels, self.device = kernels, device
        self.ws_bytes, self.lse_shape = ws_bytes, lse_shape
        self.records = _capi.RecordSet(records)   # q, k, v, o


# (pattern key, layout, scale, and q, k, v's shape, strides, dtype and device)
# -> _ForwardShape, for inputs the kernels read in place. A call whose
# signature is here skips the checks and the record building (host time on
# every call; the key is read from the same tensor attributes the checks
# would read). Only 16-byte alignment of the data pointers is checked again.
_forward_shapes = {}


def _signature(q, k, v, pattern_key, layout, scale):
    return (pattern_key, layout, scale, q.shape, q.stride(), k.shape, k.stride(), v.shape,
            v.stride(), q.dtype, k.dtype, v.dtype, q.get_device(), k.get_device(), v.get_device())


def _forward_shape(q, k, v, pattern_key, layout, scale):
    """Checks the inputs and finds their _ForwardShape; returns it with the
    tensors the kernels read (q, k, v themselves or contiguous copies)."""
    device = _check_inputs(q, k, v, layout)
    B, H, T, d = _shape(q, layout)
    Hkv = _shape(k, layout)[1]
    kernels = _kernels_for(pattern_key, T, d, q.dtype, device, scale)
    (q, q_), (k, k_), (v, v_) = _in_place(q, layout), _in_place(k, layout), _in_place(v, layout)
    o_ = _record(q.shape, _contiguous_strides(q.shape), 0, layout)   # o: empty_like(q), contiguous
    return (_ForwardShape(kernels, device, kernels.workspace_bytes(0, B, H, Hkv), (B, H, T),
                          (q_, k_, v_, o_)), q, k, v)


def _documents(cu_seqlens, q, layout):
    """(device pointer, N) of cu_seqlens (contiguous: the caller keeps it alive
    until the call) for the C call; (0, 0) for None. libsparta checks the
    boundaries themselves."""
    if cu_seqlens is None:
        return 0, 0
    B = _shape(q, layout)[0]
    if (not cu_seqlens.is_cuda or cu_seqlens.get_device() != q.get_device()
            or cu_seqlens.dtype != torch.int32 or cu_seqlens.dim() != 2
            or cu_seqlens.shape[0] != B or cu_seqlens.shape[1] < 2):
        raise ValueError(f"sparta.attention: cu_seqlens must be int32 [B={B}, N + 1 >= 2] on "
                         f"q's device {q.device} (got {cu_seqlens.dtype} "
                         f"{tuple(cu_seqlens.shape)} on {cu_seqlens.device})")
    return cu_seqlens.data_ptr(), cu_seqlens.shape[1] - 1


def _forward_impl(q, k, v, pattern_key, layout, scale, cu_seqlens=None):
    """(o, lse) of the forward."""
    signature = _signature(q, k, v, pattern_key, layout, scale)
    known = _forward_shapes.get(signature)
    if known is None or (q.data_ptr() | k.data_ptr() | v.data_ptr()) % 16:
        known, q2, k2, v2 = _forward_shape(q, k, v, pattern_key, layout, scale)
        if q2 is q and k2 is k and v2 is v:
            _forward_shapes[signature] = known
        q, k, v = q2, k2, v2
    o = torch.empty_like(q, memory_format=torch.contiguous_format)
    lse = q.new_empty(known.lse_shape, dtype=torch.float32)
    ws = q.new_empty(known.ws_bytes, dtype=torch.uint8) if known.ws_bytes else None
    records = known.records.addresses(q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr())
    cu = cu_seqlens.contiguous() if cu_seqlens is not None else None   # alive until launched
    _capi.check(_capi.lib().sparta_attention_forward(
        known.kernels.handle, *records, lse.data_ptr(), _stream(known.device),
        ws.data_ptr() if ws is not None else 0, known.ws_bytes, *_documents(cu, q, layout)))
    return o, lse


@torch.library.custom_op("sparta::attention_forward", mutates_args=())
def _forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, pattern_key: str, layout: str,
             scale: float, cu_seqlens: Optional[torch.Tensor] = None
             ) -> Tuple[torch.Tensor, torch.Tensor]:
    return _forward_impl(q, k, v, pattern_key, layout, scale, cu_seqlens)


@_forward.register_fake
def _forward_fake(q, k, v, pattern_key, layout, scale, cu_seqlens=None):
    B, H, T, d = _shape(q, layout)
    return q.new_empty(q.shape), q.new_empty((B, H, T), dtype=torch.float32)


def _backward_impl(dout, q, k, v, o, lse, pattern_key, layout, scale, cu_seqlens=None):
    """(dq, dk, dv) of the forward that gave o and lse."""
    B, H, T, d = _shape(q, layout)
    Hkv = _shape(k, layout)[1]
    device = q.get_device()
    kernels = _kernels_for(pattern_key, T, d, q.dtype, device, scale)
    used = [_in_place(t, layout) for t in (q, k, v, o, dout.to(q.dtype))]
    lse = lse.contiguous()
    dq = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    dk = torch.empty(k.shape, dtype=q.dtype, device=q.device)
    dv = torch.empty(v.shape, dtype=q.dtype, device=q.device)
    ws_bytes = kernels.workspace_bytes(1, B, H, Hkv)
    ws = q.new_empty(ws_bytes, dtype=torch.uint8) if ws_bytes else None   # alive until launched
    records = _capi.TensorRecords([record for _, record in used] +
                                  [_in_place(t, layout)[1] for t in (dq, dk, dv)])
    q_, k_, v_, o_, do_, dq_, dk_, dv_ = records.addresses
    cu = cu_seqlens.contiguous() if cu_seqlens is not None else None
    _capi.check(_capi.lib().sparta_attention_backward(
        kernels.handle, q_, k_, v_, o_, lse.data_ptr(), do_, dq_, dk_, dv_, _stream(device),
        ws.data_ptr() if ws is not None else 0, ws_bytes, *_documents(cu, q, layout)))
    return dq, dk, dv


@torch.library.custom_op("sparta::attention_backward", mutates_args=())
def _backward(dout: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              o: torch.Tensor, lse: torch.Tensor, pattern_key: str, layout: str,
              scale: float, cu_seqlens: Optional[torch.Tensor] = None
              ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return _backward_impl(dout, q, k, v, o, lse, pattern_key, layout, scale, cu_seqlens)


@_backward.register_fake
def _backward_fake(dout, q, k, v, o, lse, pattern_key, layout, scale, cu_seqlens=None):
    return q.new_empty(q.shape), k.new_empty(k.shape), v.new_empty(v.shape)


def _setup_context(ctx, inputs, output):
    q, k, v, pattern_key, layout, scale, cu_seqlens = inputs
    o, lse = output
    ctx.save_for_backward(q, k, v, o, lse, cu_seqlens)
    ctx.pattern_key, ctx.layout, ctx.scale = pattern_key, layout, scale


def _forward_grad(ctx, dout, dlse):
    # lse is an internal output (the backward's input); no gradient flows through it.
    q, k, v, o, lse, cu_seqlens = ctx.saved_tensors
    dq, dk, dv = _backward(dout, q, k, v, o, lse, ctx.pattern_key, ctx.layout, ctx.scale,
                           cu_seqlens)
    return dq, dk, dv, None, None, None, None


_forward.register_autograd(_forward_grad, setup_context=_setup_context)


class _EagerAttention(torch.autograd.Function):
    """The same forward and backward for eager autograd, without the custom
    operators' dispatch."""

    @staticmethod
    def forward(ctx, q, k, v, pattern_key, layout, scale, cu_seqlens):
        o, lse = _forward_impl(q, k, v, pattern_key, layout, scale, cu_seqlens)
        ctx.save_for_backward(q, k, v, o, lse, cu_seqlens)
        ctx.pattern_key, ctx.layout, ctx.scale = pattern_key, layout, scale
        return o

    @staticmethod
    def backward(ctx, dout):
        q, k, v, o, lse, cu_seqlens = ctx.saved_tensors
        dq, dk, dv = _backward_impl(dout, q, k, v, o, lse, ctx.pattern_key, ctx.layout, ctx.scale,
                                    cu_seqlens)
        return dq, dk, dv, None, None, None, None


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, pattern: Pattern,
              scale=None, layout: str = "bhtd",
              cu_seqlens: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Block-sparse attention of `pattern`: o = softmax(q k^T scale, masked) v.

    q: [B, H, T, d] (layout="bhtd") or [B, T, H, d] (layout="bthd"), bf16 or
    fp16, on a CUDA device, d in {32, 64, 128}; k and v have the same layout
    with Hkv heads, H divisible by Hkv (grouped-query / multi-query
    attention). Head h uses the pattern's mask h mod pattern.num_heads. T is
    taken from q (the pattern is re-instantiated with it when it differs from
    pattern.T). scale defaults to 1/sqrt(d). Rows with no allowed key give 0.
    Differentiable in q, k and v; the result has q's shape, contiguous.

    cu_seqlens: packed documents, int32 [B, N + 1] on q's device: row b holds
    documents [cu[b][n], cu[b][n + 1]) with cu[b][0] = 0, cu[b][N] = T, sorted
    (empty documents allowed), each non-empty one starting at a multiple of
    pattern.period. A query then sees only keys of its own document, with the
    pattern applied to positions counted from the document's start. Patterns
    whose period is None are refused (sparta.SpartaError).
    """
    key = pattern.key
    s = float(scale) if scale is not None else 0.0
    if torch.compiler.is_compiling():
        return _forward(q, k, v, key, layout, s, cu_seqlens)[0]
    if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad):
        return _EagerAttention.apply(q, k, v, key, layout, s, cu_seqlens)
    return _forward_impl(q, k, v, key, layout, s, cu_seqlens)[0]
