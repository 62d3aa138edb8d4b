"""PyTorch reference of sparta's byte-level Sparse Transformer.

The same math as the C++ model (model/, model/tools/sparta-train/), written from the
model's text description (docs/reference-model.md):

    x = tok_emb[tokens] + sum of the positional tables
    per layer l:
        h   = LayerNorm(x; blocks.l.ln1, eps 1e-5)
        qkv = h @ qkv.weight^T + qkv.bias;  q, k, v = columns [0,D), [D,2D), [2D,3D)
        head j = columns j*dh .. (j+1)*dh of q, k and v
        a   = softmax(q k^T / sqrt(dh) + mask) v    (rows with no allowed key -> 0)
        x   = x + dropout(a @ proj.weight^T + proj.bias)
        h   = LayerNorm(x; ln2)
        u   = gelu_tanh(h @ fc1.weight^T + fc1.bias)
        x   = x + dropout(u @ fc2.weight^T + fc2.bias)
    logits = LayerNorm(x; ln_f) @ head.weight^T
    loss   = mean cross-entropy in nats over all B*T targets; bits = loss / ln 2

Attention is dense masked attention over the pattern's [T, T] masks (the
default, "dense"), or FlexAttention with a block mask built from the same mask
predicates ("flex", for long sequences and the throughput comparison).

Head h of a layer uses mask h mod n of the pattern ("multihead"); "merged"
gives every head the union of the pattern's masks; "interleaved" gives every
head of layer l mask l mod n.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import struct
import sys
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import masks as masklib  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


# ---------------------------------------------------------------------------
# configuration


@dataclasses.dataclass
class ModelConfig:
    layers: int = 2
    d_model: int = 64
    heads: int = 4
    ff_mult: int = 4
    seq_len: int = 128  # T
    vocab: int = 256
    pattern: str = "fixed"  # a built-in paper pattern or the stem of patterns/<name>.mlir
    pattern_file: Optional[str] = None  # explicit .mlir path (relative to the repo root or absolute)
    pattern_params: Dict[str, int] = dataclasses.field(default_factory=lambda: {"L": 16, "c": 4})
    head_mode: str = "multihead"  # multihead | merged | interleaved
    positional: str = "text"  # text | image
    image_width: int = 28
    image_channels: int = 1
    dropout: float = 0.0
    mask_files: Optional[List[str]] = None  # '0'/'1' mask files; override the pattern when given

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @property
    def L(self) -> int:
        return int(self.pattern_params["L"])

    def validate(self):
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of heads {self.heads}")
        if self.head_mode not in ("multihead", "merged", "interleaved"):
            raise ValueError(f"head_mode {self.head_mode!r}")
        if self.positional not in ("text", "image"):
            raise ValueError(f"positional {self.positional!r}")


@dataclasses.dataclass
class TrainConfig:
    batch_size: int = 4
    steps: int = 200
    lr: float = 1e-3  # peak
    min_lr: float = 0.0  # floor at the last step
    warmup_steps: int = 20
    total_steps: int = 200
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    clip: float = 1.0
    seed: int = 0


_ALIASES = {
    "n_layers": "layers", "num_layers": "layers", "n_layer": "layers",
    "dmodel": "d_model", "n_heads": "heads", "num_heads": "heads", "n_head": "heads",
    "ff": "ff_mult", "ffn_mult": "ff_mult", "T": "seq_len", "seq": "seq_len",
    "mode": "head_mode", "heads_mode": "head_mode", "position": "positional",
    "peak_lr": "lr", "lr_min": "min_lr", "floor_lr": "min_lr", "warmup": "warmup_steps",
    "batch": "batch_size", "B": "batch_size", "grad_clip": "clip", "clip_norm": "clip",
}


def _pick(cls, d: dict):
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for k, v in d.items():
        k2 = _ALIASES.get(k, k)
        if k2 in names:
            out[k2] = v
    return cls(**out)


def load_config(path: str):
    """(ModelConfig, TrainConfig) from config.json: {"model": {...}, "train": {...}}
    or one flat object. Unknown keys are ignored; a few aliases are accepted."""
    with open(path) as f:
        d = json.load(f)
    md = d.get("model", d)
    td = d.get("train", d)
    mc, tc = _pick(ModelConfig, md), _pick(TrainConfig, td)
    if "total_steps" not in td and "steps" in td:
        tc.total_steps = tc.steps
    if isinstance(md.get("pattern"), dict):  # {"name"/"file": ..., "params": {...}}
        p = md["pattern"]
        mc.pattern = p.get("name", mc.pattern)
        mc.pattern_file = p.get("file", mc.pattern_file)
        mc.pattern_params = p.get("params", mc.pattern_params)
        mc.head_mode = p.get("head_mode", mc.head_mode)
    mc.pattern_params = {k: int(v) for k, v in mc.pattern_params.items()}
    mc.validate()
    return mc, tc


def save_config(path: str, mc: ModelConfig, tc: TrainConfig):
    with open(path, "w") as f:
        json.dump({"model": dataclasses.asdict(mc), "train": dataclasses.asdict(tc)}, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------------
# masks of the model


def resolve_pattern_file(mc: ModelConfig, base_dir: Optional[str] = None) -> Optional[str]:
    """The .mlir file of the config's pattern: pattern_file (absolute, or relative to
    base_dir, the repository root or the working directory), else patterns/<pattern>.mlir
    when it exists, else None (a built-in paper pattern)."""
    path = mc.pattern_file
    if path is None:
        cand = os.path.join(REPO_ROOT, "patterns", f"{mc.pattern}.mlir")
        return cand if os.path.exists(cand) else None
    if os.path.isabs(path):
        return path
    for base in (base_dir, REPO_ROOT, os.getcwd()):
        if base and os.path.exists(os.path.join(base, path)):
            return os.path.join(base, path)
    raise FileNotFoundError(f"pattern file {path} not found")


def fit_pattern_params(mc: ModelConfig, verbose: bool = True):
    """Drops parameters the pattern does not declare (e.g. c for strided), in place."""
    path = resolve_pattern_file(mc)
    if path is None:
        return
    declared = set(masklib.declared_params(path))
    extra = [k for k in mc.pattern_params if k not in declared]
    if extra and verbose:
        print(f"note: {os.path.basename(path)} does not declare {extra}; dropped", file=sys.stderr)
    mc.pattern_params = {k: v for k, v in mc.pattern_params.items() if k in declared}


def pattern_masks(mc: ModelConfig, base_dir: Optional[str] = None):
    """The pattern's masks, as mask trees (masks.py) or, with mask_files,
    as [T, T] bool tensors."""
    if mc.mask_files:
        paths = [p if os.path.isabs(p) or base_dir is None else os.path.join(base_dir, p)
                 for p in mc.mask_files]
        return [masklib.read_mask_file(p) for p in paths]
    params = dict(mc.pattern_params)
    params["T"] = mc.seq_len
    path = resolve_pattern_file(mc, base_dir)
    if path is not None and os.path.exists(path):
        return masklib.parse_pattern_file(path, params)
    return masklib.paper_pattern(mc.pattern, **mc.pattern_params)


def layer_head_masks(mc: ModelConfig, pmasks: Sequence) -> List[List[int]]:
    """For each layer, the index (into `pmasks`, or len(pmasks) for the merged
    union) of each head's mask."""
    n = len(pmasks)
    out = []
    for l in range(mc.layers):
        if mc.head_mode == "multihead":
            out.append([h % n for h in range(mc.heads)])
        elif mc.head_mode == "interleaved":
            out.append([l % n] * mc.heads)
        else:
            out.append([n] * mc.heads)
    return out


def merged_mask(pmasks):
    if all(isinstance(m, tuple) for m in pmasks):
        return ("union", tuple(pmasks))
    out = pmasks[0].clone()
    for m in pmasks[1:]:
        out |= m
    return out


# ---------------------------------------------------------------------------
# attention


def dense_masked_attention(q, k, v, mask):
    """q, k, v [B, H, T, dh]; mask [H, T, T] bool (True = allowed). Rows with
    no allowed key give 0."""
    dh = q.shape[-1]
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
    s = s.float().masked_fill(~mask, float("-inf"))
    any_key = mask.any(dim=-1, keepdim=True)
    s = torch.where(any_key, s, torch.zeros((), dtype=s.dtype, device=s.device))
    p = torch.softmax(s, dim=-1) * any_key
    return torch.matmul(p.to(v.dtype), v)


_compiled_flex = None


def flex_attention_fn(compiled: bool = True):
    global _compiled_flex
    from torch.nn.attention.flex_attention import flex_attention

    if not compiled:
        return flex_attention
    if _compiled_flex is None:
        _compiled_flex = torch.compile(flex_attention, dynamic=False)
    return _compiled_flex


def make_mask_mod(head_trees: Sequence[tuple], T: int, device):
    """A FlexAttention mask_mod: head h uses head_trees[h] (a list per head)."""
    distinct = []
    idx = []
    for m in head_trees:
        if m not in distinct:
            distinct.append(m)
        idx.append(distinct.index(m))
    # random_blocks tables are built inside evaluate() from the (tensor) index type; build
    # them once here by closing over device tensors.
    head_to_mask = torch.tensor(idx, dtype=torch.int64, device=device)

    def mask_mod(b, h, q_idx, kv_idx):
        out = masklib.evaluate(distinct[0], q_idx, kv_idx, T)
        if len(distinct) > 1:
            sel = head_to_mask[h]
            for k in range(1, len(distinct)):
                out = torch.where(sel == k, masklib.evaluate(distinct[k], q_idx, kv_idx, T), out)
        return out

    return mask_mod


def make_block_mask(head_trees: Sequence[tuple], T: int, device, block_size: int = 128):
    from torch.nn.attention.flex_attention import create_block_mask

    H = len(head_trees)
    mod = make_mask_mod(head_trees, T, device)
    if len(set(head_trees)) == 1:
        return create_block_mask(mod, B=None, H=None, Q_LEN=T, KV_LEN=T, device=device,
                                 BLOCK_SIZE=block_size)
    return create_block_mask(mod, B=None, H=H, Q_LEN=T, KV_LEN=T, device=device,
                             BLOCK_SIZE=block_size)


# ---------------------------------------------------------------------------
# the model


class Attention(nn.Module):
    def __init__(self, mc: ModelConfig):
        super().__init__()
        self.mc = mc
        self.qkv = nn.Linear(mc.d_model, 3 * mc.d_model)
        self.proj = nn.Linear(mc.d_model, mc.d_model)

    def forward(self, h, attend):
        B, T, D = h.shape
        H, dh = self.mc.heads, self.mc.head_dim
        qkv = self.qkv(h)
        q = qkv[..., :D].view(B, T, H, dh).transpose(1, 2)
        k = qkv[..., D:2 * D].view(B, T, H, dh).transpose(1, 2)
        v = qkv[..., 2 * D:].view(B, T, H, dh).transpose(1, 2)
        a = attend(q, k, v)  # [B, H, T, dh]
        a = a.transpose(1, 2).reshape(B, T, D)
        return self.proj(a)


class MLP(nn.Module):
    def __init__(self, mc: ModelConfig):
        super().__init__()
        self.fc1 = nn.Linear(mc.d_model, mc.ff_mult * mc.d_model)
        self.fc2 = nn.Linear(mc.ff_mult * mc.d_model, mc.d_model)

    def forward(self, h):
        return self.fc2(F.gelu(self.fc1(h), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, mc: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(mc.d_model, eps=1e-5)
        self.attn = Attention(mc)
        self.ln2 = nn.LayerNorm(mc.d_model, eps=1e-5)
        self.mlp = MLP(mc)
        self.drop = nn.Dropout(mc.dropout)

    def forward(self, x, attend):
        x = x + self.drop(self.attn(self.ln1(x), attend))
        x = x + self.drop(self.mlp(self.ln2(x)))
        return x


class PosEmb(nn.Module):
    def __init__(self, mc: ModelConfig):
        super().__init__()
        T, D = mc.seq_len, mc.d_model
        if mc.positional == "text":
            L = mc.L
            self.row = nn.Parameter(torch.zeros((T + L - 1) // L, D))
            self.col = nn.Parameter(torch.zeros(L, D))
            t = torch.arange(T)
            self.register_buffer("row_idx", t // L, persistent=False)
            self.register_buffer("col_idx", t % L, persistent=False)
            self.channel = None
        else:
            W, C = mc.image_width, mc.image_channels
            rows = (T + W * C - 1) // (W * C)
            self.row = nn.Parameter(torch.zeros(rows, D))
            self.col = nn.Parameter(torch.zeros(W, D))
            self.channel = nn.Parameter(torch.zeros(C, D))
            t = torch.arange(T)  # t = (row * W + col) * C + channel
            self.register_buffer("row_idx", t // (W * C), persistent=False)
            self.register_buffer("col_idx", (t // C) % W, persistent=False)
            self.register_buffer("ch_idx", t % C, persistent=False)

    def forward(self, T):
        p = self.row[self.row_idx[:T]] + self.col[self.col_idx[:T]]
        if self.channel is not None:
            p = p + self.channel[self.ch_idx[:T]]
        return p


class SparseTransformer(nn.Module):
    def __init__(self, mc: ModelConfig, attention: str = "dense", base_dir: Optional[str] = None,
                 compile_flex: bool = True, flex_block_size: int = 128):
        super().__init__()
        self.flex_block_size = flex_block_size
        mc.validate()
        self.mc = mc
        self.attention = attention
        self.compile_flex = compile_flex
        D = mc.d_model
        self.tok_emb = nn.Parameter(torch.zeros(mc.vocab, D))
        self.pos_emb = PosEmb(mc)
        self.blocks = nn.ModuleList([Block(mc) for _ in range(mc.layers)])
        self.ln_f = nn.LayerNorm(D, eps=1e-5)
        self.head = nn.Linear(D, mc.vocab, bias=False)

        pm = list(pattern_masks(mc, base_dir))
        self.layer_heads = layer_head_masks(mc, pm)
        if mc.head_mode == "merged":
            pm.append(merged_mask(pm))
        self.pattern = pm  # mask trees or [T, T] tensors
        self._dense_masks = None  # [n, T, T] bool on the model's device
        self._block_masks = {}
        self.init_weights()

    # -- initialisation ---------------------------------------------------------
    @torch.no_grad()
    def init_weights(self, seed: int = 0, std: float = 0.02, noise: float = 0.0):
        """N(0, std) weights and embeddings; attn.proj and mlp.fc2 weights scaled by
        sqrt(1/(2N)); biases 0, LayerNorm 1/0, each plus N(0, noise) when noise > 0
        (tests: non-trivial values exercise every gradient)."""
        g = torch.Generator().manual_seed(seed)
        scale = math.sqrt(1.0 / (2 * self.mc.layers))
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                base = torch.zeros(p.shape)
            elif name.startswith("ln") or ".ln" in name:
                base = torch.ones(p.shape)
            else:
                s = std * scale if (name.endswith("attn.proj.weight") or name.endswith("mlp.fc2.weight")) else std
                p.copy_(torch.randn(p.shape, generator=g) * s)
                continue
            if noise > 0:
                base = base + torch.randn(p.shape, generator=g) * noise
            p.copy_(base)

    # -- safetensors ---------------------------------------------------------------
    def load_safetensors(self, path: str, strict: bool = True):
        tensors = read_safetensors(path)
        own = dict(self.named_parameters())
        missing = [n for n in own if n not in tensors]
        extra = [n for n in tensors if n not in own]
        if strict and (missing or extra):
            raise ValueError(f"{path}: missing {missing}, unexpected {extra}")
        with torch.no_grad():
            for n, p in own.items():
                if n in tensors:
                    t = tensors[n]
                    if tuple(t.shape) != tuple(p.shape):
                        raise ValueError(f"{path}: {n} has shape {tuple(t.shape)}, model needs {tuple(p.shape)}")
                    p.copy_(t.to(torch.float32))

    def save_safetensors(self, path: str, dtype=torch.float32):
        write_safetensors(path, {n: p.detach().to(dtype) for n, p in self.named_parameters()})

    # -- attention --------------------------------------------------------------------
    def _attend_for_layer(self, l: int, T: int, device):
        idx = self.layer_heads[l]
        if self.attention == "dense":
            if self._dense_masks is None or self._dense_masks.device != device:
                ms = []
                for m in self.pattern:
                    ms.append(masklib.dense_mask(m, self.mc.seq_len, device) if isinstance(m, tuple)
                              else m.to(device))
                self._dense_masks = torch.stack(ms)
            mask = self._dense_masks[idx][:, :T, :T]
            return lambda q, k, v: dense_masked_attention(q, k, v, mask)
        if self.attention == "flex":
            key = (tuple(idx), T, str(device))
            if key not in self._block_masks:
                trees = [self.pattern[i] for i in idx]
                if not all(isinstance(m, tuple) for m in trees):
                    raise ValueError("flex attention needs pattern masks, not mask files")
                self._block_masks[key] = make_block_mask(trees, T, device, self.flex_block_size)
            bm = self._block_masks[key]
            fn = flex_attention_fn(self.compile_flex)
            return lambda q, k, v: fn(q, k, v, block_mask=bm)
        raise ValueError(f"attention {self.attention!r}")

    def prepare_masks(self, device, T: Optional[int] = None):
        """Builds every layer's attention masks (dense [H, T, T] masks or block masks)
        on `device` ahead of time; needed before torch.compile of the whole model."""
        T = self.mc.seq_len if T is None else T
        self._prepared = (T, [self._attend_for_layer(l, T, torch.device(device)) for l in range(self.mc.layers)])

    def forward(self, tokens):
        """tokens [B, T] int -> logits [B, T, vocab]."""
        B, T = tokens.shape
        x = self.tok_emb[tokens.long()] + self.pos_emb(T)
        prepared = getattr(self, "_prepared", None)
        for l, blk in enumerate(self.blocks):
            if prepared is not None and prepared[0] == T:
                attend = prepared[1][l]
            else:
                attend = self._attend_for_layer(l, T, tokens.device)
            x = blk(x, attend)
        return self.head(self.ln_f(x))

    def loss(self, batch):
        """batch [B, T+1] -> mean cross-entropy (nats) of predicting batch[:, 1:]."""
        inp, tgt = batch[:, :-1], batch[:, 1:].long()
        logits = self(inp)
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt.reshape(-1))


# ---------------------------------------------------------------------------
# safetensors


_ST_DTYPES = {
    "F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64,
    "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16,
}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


def read_safetensors_raw(path: str) -> Dict[str, torch.Tensor]:
    """The format read directly: u64 LE header length, JSON header
    {name: {dtype, shape, data_offsets: [begin, end]}} (+ optional __metadata__), data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = _ST_DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        b, e = info["data_offsets"]
        shape = info["shape"]
        numel = math.prod(shape)
        if e - b != numel * torch.empty((), dtype=dt).element_size():
            raise ValueError(f"{path}: tensor {name}: {e - b} bytes for shape {shape} {info['dtype']}")
        buf = bytearray(data[b:e])
        t = torch.frombuffer(buf, dtype=dt) if numel else torch.empty(0, dtype=dt)
        out[name] = t.reshape(shape).clone()
    return out


def write_safetensors_raw(path: str, tensors: Dict[str, torch.Tensor], metadata: Optional[dict] = None):
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    try:
        from safetensors.torch import load_file
    except ImportError:
        return read_safetensors_raw(path)
    return load_file(path)


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Optional[dict] = None):
    try:
        from safetensors.torch import save_file
    except ImportError:
        return write_safetensors_raw(path, tensors, metadata)
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, path,
              metadata={k: str(v) for k, v in (metadata or {}).items()} or None)


# ---------------------------------------------------------------------------
# training


def lr_at(tc: TrainConfig, step: int) -> float:
    """Linear warm-up to the peak, then half a cosine down to min_lr at the last
    step (the same function as the C++ trainer's LrSchedule::at)."""
    if step < tc.warmup_steps:
        return tc.lr * (step + 1) / tc.warmup_steps
    decay = tc.total_steps - 1 - tc.warmup_steps
    if decay <= 0:
        return tc.lr
    if step >= tc.total_steps - 1:
        return tc.min_lr
    p = (step - tc.warmup_steps) / decay
    return tc.min_lr + (tc.lr - tc.min_lr) * 0.5 * (1 + math.cos(math.pi * p))


def param_groups(model: nn.Module, weight_decay: float):
    """Weight decay on weight matrices and embeddings (every parameter of rank >= 2),
    none on biases or LayerNorm parameters."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, tc: TrainConfig, fused: Optional[bool] = None):
    kw = {}
    if fused is not None:
        kw["fused"] = fused
    return torch.optim.AdamW(param_groups(model, tc.weight_decay), lr=tc.lr, betas=(tc.beta1, tc.beta2),
                             eps=tc.eps, **kw)


class precision_context:
    """fp32: exact fp32 matmuls (TF32 off); bf16: autocast to bfloat16 (fp32 master
    weights, fp32 softmax/LayerNorm/loss as autocast does)."""

    def __init__(self, precision: str, device):
        self.precision = precision
        self.device_type = torch.device(device).type
        self.ac = None

    def __enter__(self):
        self.saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        if self.precision == "fp32":
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        elif self.precision == "bf16":
            self.ac = torch.autocast(self.device_type, dtype=torch.bfloat16)
            self.ac.__enter__()
        else:
            raise ValueError(f"precision {self.precision!r}")
        return self

    def __exit__(self, *exc):
        if self.ac is not None:
            self.ac.__exit__(*exc)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.saved
        return False


def loss_and_grads(model: SparseTransformer, batch: torch.Tensor, precision: str = "fp32"):
    """Loss (nats, float) and {name: fp32 gradient} for one batch, weights unchanged."""
    model.zero_grad(set_to_none=True)
    with precision_context(precision, batch.device):
        loss = model.loss(batch)
    loss.backward()
    grads = {n: p.grad.detach().float().clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return float(loss.item()), grads


def train_step(model, opt, batch, step: int, tc: TrainConfig, precision: str = "bf16"):
    """One step: lr from the schedule, forward/backward, clip to tc.clip, AdamW.
    Returns (loss nats, grad norm before clipping, lr)."""
    lr = lr_at(tc, step)
    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    with precision_context(precision, batch.device):
        loss = model.loss(batch)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip)
    lv = float(loss.item())
    if not math.isfinite(lv):
        raise FloatingPointError(f"non-finite loss {lv} at step {step}")
    opt.step()
    return lv, float(norm.item()), lr


def train(model, batches, tc: TrainConfig, precision: str = "bf16", steps: Optional[int] = None,
          log=None):
    """Trains for `steps` (default tc.steps); `batches` is [S, B, T+1] (step s uses
    batch s mod S) or [B, T+1] (every step the same batch). Returns the losses."""
    if batches.dim() == 2:
        batches = batches.unsqueeze(0)
    opt = make_optimizer(model, tc)
    out = []
    for s in range(tc.steps if steps is None else steps):
        loss, norm, lr = train_step(model, opt, batches[s % batches.shape[0]], s, tc, precision)
        out.append({"step": s, "loss": loss, "bits": loss / math.log(2), "grad_norm": norm, "lr": lr})
        if log:
            log(out[-1])
    return out
