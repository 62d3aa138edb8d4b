"""sparta: block-sparse attention compiled for a pattern, from Python.

    import sparta
    p = sparta.Pattern("fixed", T=4096, L=128, c=32)
    print(p.check(layers=2))              # validity, cost, work ratio (CPU)
    o = sparta.attention(q, k, v, p)      # CUDA tensors, differentiable (PyTorch)

Pattern, check, mask and emit need only this package and libsparta-c; the
PyTorch operator (attention) and the FlexAttention bridge (flex_mask_mod) need
PyTorch, imported with this package when it is installed.
"""

import importlib.util as _importlib_util

from ._capi import SpartaError, patterns_dir
from .pattern import CheckReport, MaskCost, Pattern


def version() -> str:
    """libsparta's version."""
    from . import _capi
    return _capi.lib().sparta_version().decode()


if _importlib_util.find_spec("torch") is not None:
    from .ops import attention, clear_cache
    from .flex import flex_mask_mod
else:
    def attention(q, k, v, pattern, scale=None, layout="bhtd"):
        raise SpartaError("sparta.attention needs PyTorch (import torch failed)")

    def flex_mask_mod(pattern, device=None):
        raise SpartaError("sparta.flex_mask_mod needs PyTorch (import torch failed)")

    def clear_cache():
        pass

__all__ = ["Pattern", "CheckReport", "MaskCost", "SpartaError", "attention", "flex_mask_mod",
           "clear_cache", "patterns_dir", "version"]
