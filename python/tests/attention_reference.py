"""The oracle of the operator tests: dense masked attention in PyTorch, written
plainly, with sparta's masks (Pattern.mask). In fp64 it is the reference; in
bf16/fp16 (inputs, products and probabilities rounded to the dtype, softmax in
fp32) it is the straightforward low-precision implementation whose error
bounds what sparta's kernels may deviate."""

import torch


def head_masks(pattern, H, device):
    """[H, T, T] bool: head h uses mask h mod num_heads."""
    masks = torch.stack([pattern.mask(m, torch=True) for m in range(pattern.num_heads)])
    return masks[torch.arange(H) % pattern.num_heads].to(device)


def reference_attention(q, k, v, masks, scale):
    """q [B, H, T, d], k and v [B, Hkv, T, d] with H = G x Hkv (query head h reads
    kv head h // G); rows with no allowed key give 0."""
    G = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(G, dim=1)
    v = v.repeat_interleave(G, dim=1)
    compute = torch.float32 if q.dtype in (torch.bfloat16, torch.float16) else q.dtype
    s = (q @ k.transpose(-1, -2)).to(compute) * scale
    empty = ~masks.any(dim=-1, keepdim=True)
    s = torch.where(masks, s, torch.tensor(float("-inf"), dtype=compute, device=s.device))
    s = torch.where(empty, torch.zeros((), dtype=compute, device=s.device), s)
    p = torch.softmax(s, dim=-1)
    p = torch.where(empty, torch.zeros((), dtype=compute, device=s.device), p)
    return p.to(q.dtype) @ v
