"""sparta.Pattern: a pattern file (or source text) instantiated with its parameters.

Everything here runs on the CPU and needs neither PyTorch nor a GPU: the
checks, masks and compiler stages are libsparta's own (through libsparta-c).
"""

import ctypes
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import _capi

# Masks are materialised as T x T booleans; beyond this they stop being small.
MAX_MASK_T = 16384


@dataclass(frozen=True)
class MaskCost:
    """What one mask (or, for `overall`, the model's heads together) asks for."""
    pairs: int
    max_keys: int
    min_keys: int
    mean_keys: float
    empty_queries: int
    density: float
    tiles_non_empty: int
    tiles_full: int
    tiles_causal: int


@dataclass(frozen=True)
class CheckReport:
    """`Pattern.check`: validity over `layers` stacked layers, the cost report
    at tile edge `tile`, and the planned kernels' work ratio (score elements
    computed per allowed pair)."""
    valid: bool
    layers: int
    mode: str                                # "union" or "interleaved"
    counterexample: Optional[Tuple[int, int]]  # (query, key) not reached; None when valid
    tile: int
    heads: List[MaskCost]
    overall: MaskCost
    work_ratio: float
    plan_tiles_full: int
    plan_tiles_partial: int

    def __str__(self):
        verdict = "valid" if self.valid else (
            f"not valid: query {self.counterexample[0]} cannot reach key "
            f"{self.counterexample[1]} in {self.layers} layers")
        return (f"{verdict} ({self.mode}); density {self.overall.density:.4f}, "
                f"keys per query max {self.overall.max_keys}, work ratio {self.work_ratio:.3f}")


def _is_source(text):
    return "sparta.pattern" in text


# Pattern.key -> the first Pattern instantiated with that key. The operator's
# custom ops take the key (a string: what torch.library and torch.compile can
# pass), so the pattern must be found from it wherever the op runs, also in a
# compiled graph whose first call never ran sparta.attention eagerly. Patterns
# are small (one parsed module of a few ops); they are kept for the process.
_instantiated: Dict[str, "Pattern"] = {}


def pattern_of_key(key: str) -> "Pattern":
    """The Pattern whose key is `key` (made in this process)."""
    try:
        return _instantiated[key]
    except KeyError:
        raise _capi.SpartaError(f"no pattern with key {key!r} was made in this process") from None


class Pattern:
    """A sparsity pattern, instantiated.

    `path_or_source` is a pattern file, the bare name of a shipped pattern
    ("fixed", "strided", ...), or the text of a pattern. Keyword arguments
    bind its parameters (T, L, ...); `pattern=` picks one of several patterns
    in a file. Errors raise SpartaError with sparta's message.
    """

    def __init__(self, path_or_source, *, pattern: Optional[str] = None, **params):
        text = os.fspath(path_or_source)
        self._source = text if _is_source(text) else None
        self._path = None if self._source is not None else text
        self._pattern_name = pattern or ""
        names = list(params)
        c_names = (ctypes.c_char_p * max(len(names), 1))(*[n.encode() for n in names])
        c_values = (ctypes.c_int64 * max(len(names), 1))(*[int(params[n]) for n in names])
        handle = ctypes.c_void_p()
        lib = _capi.lib()
        _capi.check(lib.sparta_pattern_load(
            self._path.encode() if self._path is not None else None,
            self._source.encode() if self._source is not None else None,
            b"<source>", self._pattern_name.encode(), c_names, c_values, len(names),
            ctypes.byref(handle)))
        self._handle = handle
        info = json.loads(_capi.call_string(lib.sparta_pattern_info, handle))
        self.name: str = info["name"]
        self.T: int = info["T"]
        self.params: dict = dict(info["params"])
        self.heads: List[str] = list(info["heads"])
        # Packed documents start at multiples of it; None: the pattern cannot
        # pack documents (sparta.attention's cu_seqlens).
        self.period: Optional[int] = info["period"]
        if self._path is not None:
            origin = os.path.abspath(self._path) if os.path.exists(self._path) else self._path
        else:
            origin = "source:" + hashlib.sha1(self._source.encode()).hexdigest()
        # T is not among `params` (the pattern holds it apart).
        bound = ",".join(f"{k}={v}" for k, v in [("T", self.T)] + sorted(self.params.items()))
        # Identifies the instantiated pattern (its file or source, T and every
        # other parameter): the operator's kernel caches are keyed by it.
        self.key: str = f"{origin}|{self.name}|{bound}"
        _instantiated.setdefault(self.key, self)

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle and _capi is not None and _capi._lib is not None:   # not at interpreter exit
            _capi._lib.sparta_pattern_free(handle)
            self._handle = None

    @property
    def num_heads(self) -> int:
        """Number of distinct head masks; model head h uses mask h mod num_heads."""
        return len(self.heads)

    def with_params(self, **params) -> "Pattern":
        """The same pattern with some parameters re-bound (e.g. another T)."""
        merged = {**self.params, **params}
        return Pattern(self._path if self._path is not None else self._source,
                       pattern=self._pattern_name or None, **merged)

    def check(self, layers: int = 2, interleaved: bool = False, tile: int = 0) -> CheckReport:
        """Whether `layers` stacked layers connect every query to every earlier
        key, the cost report and the work ratio (what `sparta check` prints).
        `tile` 0: the tile shapes the kernels run; else square tiles of that edge."""
        r = json.loads(_capi.call_string(_capi.lib().sparta_pattern_check, self._handle,
                                         int(layers), int(bool(interleaved)), int(tile)))
        ce = r["counterexample"]
        return CheckReport(
            valid=r["valid"], layers=r["layers"], mode=r["mode"],
            counterexample=None if ce is None else (ce["query"], ce["key"]),
            tile=r["tile"], heads=[MaskCost(**h) for h in r["heads"]],
            overall=MaskCost(**r["overall"]), work_ratio=r["work_ratio"],
            plan_tiles_full=r["plan_tiles_full"], plan_tiles_partial=r["plan_tiles_partial"])

    def packed_mask(self, head: int = 0):
        """The element mask of one head, 8 keys per byte: a numpy uint8 array
        [T, ceil(T / 8)] whose bit j % 8 (least significant first) of byte
        [i, j // 8] is set when query i attends to key j (np.packbits with
        bitorder="little"). For any T the kernels take."""
        import numpy as np
        words = (self.T + 63) // 64
        bits = np.zeros((self.T, words), dtype=np.uint64)
        _capi.check(_capi.lib().sparta_pattern_mask_bits(
            self._handle, int(head), bits.ctypes.data_as(ctypes.c_void_p), self.T * words))
        return bits.view(np.uint8)[:, : (self.T + 7) // 8]

    def mask(self, head: int = 0, torch: bool = False, device=None):
        """The element mask of one head as a T x T bool array (numpy; a torch
        tensor with torch=True, on `device` if given): [i, j] is True when
        query i attends to key j. For small T (at most MAX_MASK_T)."""
        if self.T > MAX_MASK_T:
            raise _capi.SpartaError(f"T = {self.T} is too large for a dense mask "
                                    f"(at most {MAX_MASK_T}; packed_mask has no limit)")
        import numpy as np
        dense = np.unpackbits(self.packed_mask(head), axis=1, count=self.T,
                              bitorder="little").astype(bool)
        if torch:
            import torch as _torch
            t = _torch.from_numpy(dense)
            return t.to(device) if device is not None else t
        return dense

    def emit(self, stage: str, head_dim: int = 64, dtype: str = "bf16", arch: str = "sm_90a",
             use_cache: bool = True) -> str:
        """A compiler stage as text: "plan", "cuda" or "ptx" (as `sparta
        compile --emit=STAGE`; no GPU needed)."""
        return _capi.call_string(_capi.lib().sparta_pattern_emit, self._handle, stage.encode(),
                                 int(head_dim), dtype.encode(), arch.encode(), int(use_cache))

    def __repr__(self):
        params = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"sparta.Pattern({self.name!r}, {params}, heads={self.heads})"
