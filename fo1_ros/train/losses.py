"""The auxiliary losses of stages 1-2 that build the region-binding circuit, and its seeded head.

A language model trained from scratch does not learn in the steps a CPU affords to tie a
question's `<regionK>` to object token K (tools/binding_probe.py), so the circuit is built
and supervised directly (StageConfig.seed_previous_token_head, attention_loss, pointer_loss,
binding_loss):

- `seed_previous_token_head`: layer 0 / head 0 attends to the previous token, so each object
  token sees its `<regionK>`;
- attention loss (`attention_targets`, `attention_loss`): the induction head at a cited
  `<regionK>` must attend to object token K, the carry head must carry that `<regionK>` on to
  the answer;
- pointer loss (same functions): where an answer is about to name a region, the pointer head
  must attend to the object tokens still to be named;
- binding loss (`binding_targets`, `binding_loss`): throwaway heads on the hidden state at a
  cited `<regionK>` must name object K's attributes.

Positions are indices into a packed sequence (`fo1_ros.train.batching`): `starts[(b, k)]` is
where segment k of row b begins; dims `B` rows, `T` tokens, `D` hidden size.
"""

from __future__ import annotations

import numpy as np
import torch

from ..model.constants import OBJECT_SLOT
from ..model.modeling import FO1ForCausalLM
from .data import Example
from .vision_pretrain import RegionHeads, attribute_targets, heads_loss

ATTN_INDUCTION = (1, 2)  # (layer, head) that reads object token K at a cited <regionK>
ATTN_CARRY = (2, 2)  # (layer, head) that carries the question's <regionK> to the answer
ATTN_POINTER = (3, 2)  # (layer, head) that looks at the objects an answer is about to name


def attention_slots(model: FO1ForCausalLM) -> tuple[tuple[int, int], ...]:
    """(induction, carry, pointer) (layer, head) pairs: ATTN_* clamped to the model's size; on a
    model too small for distinct slots, a later one takes the next free head of its layer, then of
    the layers below (never layer 0 / head 0, the previous-token head)."""
    n_layers, n_heads = model.config.text.num_hidden_layers, model.config.text.num_attention_heads
    slots: list[tuple[int, int]] = []
    for layer, head in (ATTN_INDUCTION, ATTN_CARRY, ATTN_POINTER):
        layer, head = min(layer, n_layers - 1), min(head, n_heads - 1)
        order = [(layer, (head + i) % n_heads) for i in range(n_heads)]
        order += [(lo, h) for lo in range(layer - 1, -1, -1) for h in range(n_heads)]
        free = [c for c in order if c not in slots and c != (0, 0)]
        if not free:
            raise ValueError(f"a {n_layers}-layer, {n_heads}-head language model has no free heads for the "
                             "attention losses")
        slots.append(free[0])
    return tuple(slots)


def attention_targets(e: Example, obj_pos: list[int], starts: dict, b: int):
    """Supervised attention of one example: three lists of (query position, [key positions]).

    Induction: every <regionK> in a segment -> object token K. Carry: in a segment whose
    question cites exactly one region and whose answer cites none, every position after that
    <regionK> up to the last one that predicts an answer token -> the <regionK>. Pointer: in an
    answer, the position that predicts a <regionK> of a run of region tokens (one `<objects>`
    group) -> the object tokens of that and every later region of the run (the ones still to be
    named). The attention weights on a target's keys are summed.
    """
    induction = [(starts[(b, k)] + t, [obj_pos[K]]) for k, t, K, _ in e.cites if K < len(obj_pos)]
    carry, pointer = [], []
    for k, (ids, _) in enumerate(e.segments):
        q = [(t, K) for kk, t, K, in_q in e.cites if kk == k and in_q]
        a = [(t, K) for kk, t, K, in_q in e.cites if kk == k and not in_q and K < len(obj_pos)]
        if q and not a and len({K for _, K in q}) == 1:
            r = starts[(b, k)] + q[-1][0]
            carry += [(p, [r]) for p in range(r + 1, starts[(b, k)] + len(ids) - 1)]
        for i, (t, _) in enumerate(a):
            run = [a[i][1]]
            for j in range(i + 1, len(a)):
                if a[j][0] != a[j - 1][0] + 1:
                    break
                run.append(a[j][1])
            pointer.append((starts[(b, k)] + t - 1, [obj_pos[K] for K in run]))
    return induction, carry, pointer


def attention_loss(examples: list[Example], token_ids: torch.Tensor, starts: dict, weights: dict,
                   slots=(ATTN_INDUCTION, ATTN_CARRY, ATTN_POINTER)) -> dict[str, torch.Tensor]:
    """{"induction", "carry", "pointer"}: mean -log of the attention weight the slot's head puts on
    each target's keys (`attention_targets`); 0 where a batch has no target of that kind.

    weights: (layer, head) -> (B, T, T) attention probabilities of that head (only the slots of
    the kinds asked for need to be present); slots: (layer, head) per kind, in that order.
    """
    kinds = [(name, slot, pick) for pick, (name, slot) in enumerate(zip(("induction", "carry", "pointer"), slots))
             if slot in weights]
    found: dict[str, tuple[list, list, list]] = {name: ([], [], []) for name, _, _ in kinds}
    for b, e in enumerate(examples):  # every example's targets once, shared by the kinds
        obj_pos = (token_ids[b] == OBJECT_SLOT).nonzero().flatten().tolist()
        targets = attention_targets(e, obj_pos, starts, b)
        for name, _, pick in kinds:
            rows, qs, keys = found[name]
            for q, ks in targets[pick]:
                rows.append(b)
                qs.append(q)
                keys.append(ks)
    out = {}
    for name, (layer, head), _ in kinds:
        rows, qs, keys = found[name]
        if not rows:
            out[name] = weights[(layer, head)].new_zeros(())
            continue
        w = weights[(layer, head)][rows, qs].float()  # (n, T)
        on = torch.zeros_like(w, dtype=torch.bool)
        for i, ks in enumerate(keys):
            on[i, ks] = True
        out[name] = -torch.log((w * on).sum(-1) + 1e-6).mean()
    return out


@torch.no_grad()
def seed_previous_token_head(model: FO1ForCausalLM, layer: int = 0, head: int = 0, sharpness: float = 6.0) -> None:
    """Make one attention head attend (almost only) to the previous token.

    FO1 names object K in the prompt as ``<regionK>`` followed by its object token, and a
    question cites ``<regionK>``: answering needs an induction circuit (the object token learns
    which index precedes it; a later head matches the cited index). A pretrained Qwen has such
    heads; a language model trained from scratch here did not grow one in the steps we can
    afford. So the head's query and key become constant vectors (weights 0, biases set) whose
    RoPE dot product q_m . k_n = s^2 sum_i cos((m - n - 1) theta_i) peaks at n = m - 1. Its
    key/value head is shared with the other query heads of its GQA group, whose keys become
    positional too. Everything stays trainable.
    """
    attn = model.model.layers[layer].self_attn
    tcfg = model.config.text
    hd = tcfg.head_dim
    kv = head // (tcfg.num_attention_heads // tcfg.num_key_value_heads)
    inv_freq = 1.0 / (tcfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    q = torch.cat([torch.ones(hd // 2), torch.zeros(hd // 2)])
    k = torch.cat([torch.cos(inv_freq), torch.sin(inv_freq)])  # q rotated by one position back
    qs, ks = slice(head * hd, (head + 1) * hd), slice(kv * hd, (kv + 1) * hd)
    attn.q_proj.weight[qs] = 0
    attn.k_proj.weight[ks] = 0
    attn.q_proj.bias[qs] = sharpness * q.to(attn.q_proj.bias)
    attn.k_proj.bias[ks] = sharpness * k.to(attn.k_proj.bias)


def attn_implementation(model: FO1ForCausalLM) -> str:
    """The language model's attention implementation ("sdpa", "eager", HEAD_PROBS_ATTENTION, ...)."""
    return model.model.layers[0].self_attn.config._attn_implementation


def binding_targets(cites: list[tuple[int, int, int, bool]], match: np.ndarray, objects) -> list:
    """(segment, offset, object) for each cited region token (Example.cites) whose region is a box of
    an object. match: (N,) object index per region (-1 none)."""
    return [(k, t, objects[int(match[K])]) for k, t, K, _ in cites if K < len(match) and match[K] >= 0]


def binding_loss(hidden: torch.Tensor, examples: list[Example], starts: dict[tuple[int, int], int],
                 heads: RegionHeads) -> torch.Tensor | None:
    """Cross-entropy of `heads` on the hidden state at every binding target (Example.bind) for
    that object's attributes; None when the batch has no target.

    hidden: (B, T, D) last hidden states of the packed batch.
    """
    where = [(b, starts[(b, k)] + t, o) for b, e in enumerate(examples) for k, t, o in e.bind]
    if not where:
        return None
    h = hidden[[b for b, _, _ in where], [t for _, t, _ in where]]  # (n, D)
    logits = heads(h)
    tgt = {k: v.to(hidden.device) for k, v in attribute_targets([o for _, _, o in where]).items()}
    return heads_loss(logits, tgt)
