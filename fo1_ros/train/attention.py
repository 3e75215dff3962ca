"""SDPA attention that also returns the probabilities of the few heads the attention losses read.

The attention and pointer losses of stages 1-2 (losses.attention_loss) supervise three
(layer, head) slots. Eager attention would give them, but it materialises every head's
(B, H, T, T) probabilities in every layer — measured ~20 % of a training step on this CPU.
`HEAD_PROBS_ATTENTION` computes each layer's output with SDPA, as inference does, and in the
layers that carry `PROB_HEADS_ATTR` (set by the trainer for one forward pass) additionally
softmax(q_h k_h^T * scaling + mask) for the listed heads only. Same weights, same outputs,
same gradients as eager; only the work differs. `head_probs_captured` marks those layers for
the forward passes inside it and collects the probabilities.

Registered by name in transformers' AttentionInterface on import, so a model built with
`attn_implementation=HEAD_PROBS_ATTENTION` uses it in every attention layer (vision layers carry
no head list and run plain SDPA).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

HEAD_PROBS_ATTENTION = "fo1_sdpa_head_probs"
PROB_HEADS_ATTR = "fo1_prob_heads"  # attribute of an attention module: tuple of head indices, or absent


def sdpa_with_head_probs(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                         attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                         **kwargs) -> tuple[torch.Tensor, dict[int, torch.Tensor] | None]:
    """(attn_output (B, T, H, D), {head: (B, T, S) probabilities} or None).

    query: (B, H, T, D); key, value: (B, H_kv, S, D) (grouped-query heads share a key head);
    attention_mask: None, or (B, 1, T, S) — additive float or boolean (True = attend).
    """
    out, _ = sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                    **kwargs)
    heads = getattr(module, PROB_HEADS_ATTR, None)
    if not heads:
        return out, None
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    n_rep = query.shape[1] // key.shape[1]
    q = query[:, list(heads)]  # (B, h, T, D)
    k = key[:, [h // n_rep for h in heads]]  # (B, h, S, D): head h reads key head h // n_rep
    scores = torch.matmul(q, k.transpose(2, 3)) * scale  # (B, h, T, S)
    if attention_mask is not None:
        mask = attention_mask[:, :, :, : k.shape[-2]]
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    return out, {h: probs[:, i] for i, h in enumerate(heads)}


AttentionInterface.register(HEAD_PROBS_ATTENTION, sdpa_with_head_probs)


@contextmanager
def head_probs_captured(model: torch.nn.Module, slots: tuple[tuple[int, int], ...]
                        ) -> Iterator[dict[tuple[int, int], torch.Tensor | None]]:
    """Record the attention probabilities of the (layer, head) `slots` of `model`'s language
    model in the forward pass run inside the block.

    Yields a dict filled by that pass: (layer, head) -> (B, T, T) probabilities, or None where the
    attention implementation returns none (plain SDPA). Eager attention gives every head's; a
    model built with HEAD_PROBS_ATTENTION computes only the marked heads'. The marks and hooks
    are removed on leaving, also on an exception.
    """
    captured: dict[tuple[int, int], torch.Tensor | None] = {}
    hooks, marked = [], []
    for layer in {slot[0] for slot in slots}:
        heads = tuple(sorted({h for lo, h in slots if lo == layer}))
        attn = model.model.layers[layer].self_attn
        setattr(attn, PROB_HEADS_ATTR, heads)  # read by HEAD_PROBS_ATTENTION, for this pass only
        marked.append(attn)

        def hook(_m, _args, output, layer=layer, heads=heads):
            w = output[1]  # eager: (B, H, T, T); HEAD_PROBS_ATTENTION: {head: (B, T, T)}; sdpa: None
            for h in heads:
                captured[(layer, h)] = None if w is None else (w[h] if isinstance(w, dict) else w[:, h])
        hooks.append(attn.register_forward_hook(hook))
    try:
        yield captured
    finally:
        for h in hooks:
            h.remove()
        for attn in marked:
            delattr(attn, PROB_HEADS_ATTR)
