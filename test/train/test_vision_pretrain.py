"""Stage 0's region heads: targets, loss and accuracy bookkeeping."""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F

from fo1_ros.train.vision_pretrain import ATTRIBUTES, CHAR_CLASSES, attribute_hits, attribute_targets, heads_loss


def _objects():
    return [SimpleNamespace(colour="red", category="cube", size_class="small", text=""),
            SimpleNamespace(colour="blue", category="ball", size_class="large", text="AB")]


def _logits_for(objs, wrong: set[tuple[int, str]]) -> dict[str, torch.Tensor]:
    """One-hot logits naming each object's attributes, except the (object, attribute) pairs in `wrong`."""
    tgt = attribute_targets(objs)
    out = {}
    for k in list(ATTRIBUTES) + ["chars"]:
        n = len(CHAR_CLASSES) if k == "chars" else len(ATTRIBUTES[k])
        idx = tgt[k].clone()
        for i, name in wrong:
            if name == k:
                idx[i] = (idx[i] + 1) % n
        out[k] = F.one_hot(idx, n).float() * 10
    return out


def test_attribute_hits_count_each_attribute_and_whole_texts():
    objs = _objects()
    tgt = attribute_targets(objs)
    assert tgt["chars"][1, :3].tolist() == [CHAR_CLASSES.index("A"), CHAR_CLASSES.index("B"), 0]
    hits = attribute_hits(_logits_for(objs, set()), tgt)
    assert all(h.all() for h in hits.values()) and hits["text_exact"].shape == (1,)  # only object 1 has text
    hits = attribute_hits(_logits_for(objs, {(0, "colour"), (1, "chars")}), tgt)
    assert hits["colour"].tolist() == [False, True] and hits["category"].all()
    assert hits["text_exact"].tolist() == [False]  # one wrong character position fails the whole text


def test_heads_loss_is_low_for_right_and_high_for_wrong_logits():
    objs = _objects()
    tgt = attribute_targets(objs)
    right = float(heads_loss(_logits_for(objs, set()), tgt))
    wrong = float(heads_loss(_logits_for(objs, {(0, "category"), (1, "size_class")}), tgt))
    assert right < 1e-2 < 5 < wrong
