"""sparta.flex_mask_mod: a pattern as a FlexAttention mask_mod.

The masks are sparta's own (libsparta's reference semantics, the same ones
its kernels are checked against), packed 8 keys per byte into one
[num_heads, T, ceil(T / 8)] uint8 table that the mask_mod indexes, so
FlexAttention and sparta.attention compute exactly the same attention:

    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    mask_mod = sparta.flex_mask_mod(pattern, device="cuda")
    block_mask = create_block_mask(mask_mod, B, H, T, T, device="cuda")
    o = flex_attention(q, k, v, block_mask=block_mask)   # == sparta.attention(q, k, v, pattern)

The table takes num_heads x T x T / 8 bytes (64 MiB for two heads at T = 16384).
"""

import numpy as np
import torch

from .pattern import Pattern


def flex_mask_mod(pattern: Pattern, device=None):
    """mask_mod(b, h, q_idx, kv_idx) -> bool tensor: head h uses the pattern's
    mask h mod num_heads, as in sparta.attention."""
    n = pattern.num_heads
    table = torch.from_numpy(np.stack([pattern.packed_mask(h) for h in range(n)]))
    if device is not None:
        table = table.to(device)

    def mask_mod(b, h, q_idx, kv_idx):
        byte = table[h % n, q_idx, kv_idx // 8].to(torch.int32)
        return ((byte >> (kv_idx % 8).to(torch.int32)) & 1) == 1

    return mask_mod
