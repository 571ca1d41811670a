"""Padding-free packing: training rows concatenated into token-budget batches, no attention across rows.

    bins = pack_rows([len(f["input_ids"]) for f in features], budget=4096, seed=42)
    ds = PackedDataset(features, bins)        # one item = one packed batch, trained with batch size 1
    batch = PackedCollator()([ds[0]])
    # {"input_ids": [1, T], "labels": [1, T], "position_ids": [1, T] (restart at 0 for every row),
    #  "cu_seq_lens_q"/"cu_seq_lens_k": row boundaries, "max_length_q"/"max_length_k": longest row}

The model attends inside each row only. ``use_packed_attention(model)`` switches a decoder to the
``ft_lab_packed`` attention: variable-length flash attention (``torch.nn.attention.varlen``) on a GPU
in bf16/fp16, one causal ``scaled_dot_product_attention`` per row elsewhere, plain ``sdpa`` for any
batch that is not packed (evaluation with padding, generation). A model it cannot switch (not on sdpa,
sliding windows) trains padded: transformers' own mask from restarting position ids let rows see each
other in transformers 5.23 (sdpa, CPU), so the engine does not rely on it. The first label of every row is -100, so no row learns to predict the
next row's first token; the loss is the padded loss of the same rows (tests/test_packing.py).
"""
from __future__ import annotations

import math
import random

PACKED_ATTENTION = "ft_lab_packed"


def budget_for(lengths: list[int], rows_per_batch: int, tokens_per_batch: int | None = None) -> int:
    """Tokens per packed batch: the recipe's, else ``rows_per_batch`` rows of mean length (so an epoch
    has about as many updates as padded batches of ``rows_per_batch`` rows); never below the longest row."""
    if tokens_per_batch:
        return max(int(tokens_per_batch), max(lengths))
    return max(math.ceil(rows_per_batch * sum(lengths) / len(lengths)), max(lengths))


def pack_rows(lengths: list[int], budget: int, seed: int, window: int = 8) -> list[list[int]]:
    """Row indices grouped into bins of at most ``budget`` tokens: rows in a seeded random order, each
    into the first of the last ``window`` bins with room (else a new bin), so bins come out nearly full
    and every bin mixes lengths like the data does."""
    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = lengths[i]
        for j in range(max(0, len(bins) - window), len(bins)):
            if room[j] >= n:
                bins[j].append(i)
                room[j] -= n
                break
        else:
            bins.append([i])
            room.append(budget - n)
    return bins


def padded_tokens(lengths: list[int], rows_per_batch: int, seed: int) -> int:
    """Tokens the same rows would take padded to the longest row of batches of ``rows_per_batch``,
    in the same kind of seeded random order: what packing is compared against."""
    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    total = 0
    for start in range(0, len(order), rows_per_batch):
        chunk = [lengths[i] for i in order[start:start + rows_per_batch]]
        total += max(chunk) * len(chunk)
    return total


class PackedDataset:
    """A list of packed batches over encoded rows (``input_ids`` and ``labels`` lists)."""

    def __init__(self, features: list[dict], bins: list[list[int]]):
        self.features = features
        self.bins = bins

    def __len__(self) -> int:
        return len(self.bins)

    def __getitem__(self, i: int) -> dict:
        return {"rows": [self.features[j] for j in self.bins[i]]}

    def real_tokens(self) -> int:
        return sum(len(f["input_ids"]) for f in self.features)


class PackedCollator:
    """Flattens the rows of one or more packed items into a single row (see the module docstring)."""

    def __init__(self, max_length: int | None = None):
        # a fixed upper bound for the longest row keeps a compiled model from recompiling per batch
        self.max_length = max_length

    def __call__(self, items: list[dict]) -> dict:
        import torch

        rows = [r for item in items for r in (item["rows"] if "rows" in item else [item])]
        ids, labels, positions, bounds = [], [], [], [0]
        for r in rows:
            n = len(r["input_ids"])
            ids += r["input_ids"]
            labels += [-100] + list(r["labels"][1:])  # the first token is never a target of its own row
            positions += range(n)
            bounds.append(bounds[-1] + n)
        longest = max(b - a for a, b in zip(bounds, bounds[1:]))
        longest = max(longest, self.max_length or 0)
        cu = torch.tensor(bounds, dtype=torch.int32)
        return {"input_ids": torch.tensor([ids]), "labels": torch.tensor([labels]),
                "position_ids": torch.tensor([positions]),
                "cu_seq_lens_q": cu, "cu_seq_lens_k": cu, "max_length_q": longest, "max_length_k": longest}


def _row_bounds(kwargs, position_ids, length: int):
    cu = kwargs.get("cu_seq_lens_q")
    if cu is not None:
        return cu, int(kwargs.get("max_length_q") or length)
    import torch
    if position_ids is None:
        return None, length
    starts = (position_ids.reshape(-1) == 0).nonzero().reshape(-1)
    if starts.numel() <= 1:
        return None, length
    cu = torch.cat([starts, starts.new_tensor([position_ids.shape[-1]])]).to(torch.int32)
    return cu, int((cu[1:] - cu[:-1]).max())


def packed_attention_forward(module, query, key, value, attention_mask, dropout: float = 0.0,
                             scaling: float | None = None, **kwargs):
    """Attention for packed rows (query/key/value ``[1, heads, T, dim]``), sdpa for anything else."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    cu, longest = (None, 0)
    if attention_mask is None and query.shape[0] == 1 and query.shape[2] > 1:
        cu, longest = _row_bounds(kwargs, kwargs.get("position_ids"), query.shape[2])
    if cu is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    import torch
    import torch.nn.functional as F

    q, k, v = (t[0].transpose(0, 1) for t in (query, key, value))  # [T, heads, dim]
    varlen = _varlen_attn() if q.is_cuda and q.dtype in (torch.bfloat16, torch.float16) else None
    if varlen is not None and dropout == 0.0:
        cu = cu.to(device=q.device, dtype=torch.int32)
        extra = _VARLEN_ARGS
        if k.shape[1] != q.shape[1] and not extra.get("gqa"):
            k, v = (t.repeat_interleave(q.shape[1] // k.shape[1], 1) for t in (k, v))
        causal = {"is_causal": True} if extra.get("is_causal") else {"window_size": (-1, 0)}
        gqa = {"enable_gqa": k.shape[1] != q.shape[1]} if extra.get("gqa") else {}
        try:
            out = varlen(q, k, v, cu, cu, longest, longest, scale=scaling, **causal, **gqa)
            PACKED_CALLS["varlen"] += 1
            return out.unsqueeze(0), None
        except (RuntimeError, TypeError, ValueError):  # a head size or GPU its kernels do not take
            _VARLEN_ARGS["broken"] = True
            k, v = (t[0].transpose(0, 1) for t in (key, value))
    PACKED_CALLS["per_row"] += 1  # on a GPU in bf16/fp16 this is the fallback (benchmarks/gpu_check.py counts it)
    groups = q.shape[1] // k.shape[1]
    outs = []
    for a, b in zip(cu[:-1].tolist(), cu[1:].tolist()):
        qs, ks, vs = (t[a:b].transpose(0, 1) for t in (q, k, v))  # [heads, n, dim]
        if groups > 1:
            ks, vs = ks.repeat_interleave(groups, 0), vs.repeat_interleave(groups, 0)
        outs.append(F.scaled_dot_product_attention(qs, ks, vs, dropout_p=dropout, is_causal=True,
                                                   scale=scaling).transpose(0, 1))
    return torch.cat(outs, 0).unsqueeze(0), None


_VARLEN_ARGS: dict = {}
#: how packed attention ran in this process: ``varlen`` (one fused kernel, GPU) or ``per_row`` (sdpa per row)
PACKED_CALLS = {"varlen": 0, "per_row": 0}


def _varlen_attn():
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:  # torch < 2.9
        return None
    if _VARLEN_ARGS.get("broken"):
        return None
    if not _VARLEN_ARGS:  # its arguments changed between torch releases
        import inspect
        params = inspect.signature(varlen_attn).parameters
        _VARLEN_ARGS.update(is_causal="is_causal" in params, gqa="enable_gqa" in params, checked=True)
    return varlen_attn


def _packed_mask(*args, **kwargs):
    """sdpa's mask, except none for a batch with no padding and no cache (causal or packed rows):
    the attention finds the rows from the position ids."""
    from transformers.masking_utils import sdpa_mask

    if (kwargs.get("attention_mask") is None and not kwargs.get("use_vmap")
            and not kwargs.get("q_offset") and not kwargs.get("kv_offset")
            and kwargs.get("q_length") == kwargs.get("kv_length")):
        return None
    return sdpa_mask(*args, **kwargs)


def register_packed_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    _varlen_attn()  # read its signature once, outside any compiled region
    AttentionInterface.register(PACKED_ATTENTION, packed_attention_forward)
    AttentionMaskInterface.register(PACKED_ATTENTION, _packed_mask)


def supports_packed_attention(model) -> bool:
    """Whether ``model`` (a transformers decoder, or a peft model around one) can take packed rows:
    sdpa attention (or ours already), full causal attention in every layer."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "_attn_implementation", None) not in ("sdpa", PACKED_ATTENTION):
        return False
    if getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return False
    return all(t == "full_attention" for t in (getattr(config, "layer_types", None) or []))


def use_packed_attention(model) -> bool:
    """Switch ``model`` to ``ft_lab_packed`` attention; False (and the model unchanged) where it cannot."""
    if not supports_packed_attention(model):
        return False
    register_packed_attention()
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        base.set_attn_implementation(PACKED_ATTENTION)
    except (AttributeError, ValueError, TypeError):
        return False
    return True
