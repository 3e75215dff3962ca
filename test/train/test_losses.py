"""The region-binding circuit: the seeded previous-token head and the attention, pointer and binding targets."""

from __future__ import annotations

import numpy as np
import torch

from fo1_ros.model.config import preset
from fo1_ros.model.constants import OBJECT_SLOT
from fo1_ros.model.modeling import FO1ForCausalLM
from fo1_ros.train.data import Example
from fo1_ros.train.losses import attention_loss, attention_targets, binding_targets, seed_previous_token_head


def test_seeded_previous_token_head_attends_to_the_previous_token():
    """After seed_previous_token_head, layer 0 / head 0 puts nearly all attention on position t-1
    whatever the tokens (random embeddings, text positions as object tokens get them)."""

    torch.manual_seed(0)
    model = FO1ForCausalLM(preset("fo1-tiny"), attn_implementation="eager").eval()
    T = 24
    x = torch.randn(1, T, model.config.text.hidden_size)
    pos = torch.arange(5, 5 + T)[None, None].expand(3, 1, T)

    def head0():
        out = model.model(inputs_embeds=x, position_ids=pos, output_attentions=True)
        return out.attentions[0][0, 0]  # (T, T) of layer 0, head 0

    before = head0()
    seed_previous_token_head(model)
    after = head0()
    prev = torch.diagonal(after, offset=-1)
    assert prev.min() > 0.9, prev
    assert torch.diagonal(before, offset=-1).mean() < 0.5  # random init does not do this by itself
    other = model.model.layers[0].self_attn.q_proj.weight[model.config.text.head_dim:]
    assert other.abs().sum() > 0  # the other heads keep their weights


def test_binding_targets_name_the_matched_object_of_each_cited_region(three_scenes):
    """Every <regionK> after the prefix whose region K is a box of an object carries that object;
    regions without an object (distractors) carry nothing."""

    scene = three_scenes[0]
    objs = scene.objects
    match = np.array([2, -1, 0])
    cites = [(0, 1, 0, True), (0, 3, 1, True), (1, 0, 2, False)]  # (segment, offset, K, in the question)
    got = binding_targets(cites, match, objs)
    assert got == [(0, 1, objs[2]), (1, 0, objs[0])]
    assert binding_targets([(0, 0, 7, False)], match, objs) == []  # a region index past the list


def test_attention_targets_point_at_the_cited_object_carry_it_and_point_at_named_ones():
    # segment 0: question cites region 2 at offset 3, answer (from offset 6) names nothing;
    # segment 1: question cites region 0, answer names region 1 -> no carry targets
    segs = [([0] * 9, [-100] * 6 + [1] * 3), ([0] * 5, [-100] * 3 + [1] * 2)]
    e = Example(np.zeros((4, 4, 3), np.uint8), np.zeros((3, 4)), [], segs,
                cites=[(0, 3, 2, True), (1, 1, 0, True), (1, 3, 1, False)])
    starts = {(0, 0): 100, (0, 1): 109}
    induction, carry, pointer = attention_targets(e, [50, 52, 54], starts, 0)
    assert induction == [(103, [54]), (110, [50]), (112, [52])]
    assert carry == [(p, [103]) for p in range(104, 108)]
    assert pointer == [(111, [52])]  # the position before the answer's <region1>
    # a group of three answer regions (offsets 4, 5, 6) then another group (offset 8)
    e2 = Example(e.rgb, e.boxes, [], [([0] * 10, [-100] * 3 + [1] * 7)],
                 cites=[(0, 4, 2, False), (0, 5, 0, False), (0, 6, 1, False), (0, 8, 0, False)])
    _, carry2, pointer2 = attention_targets(e2, [50, 52, 54], {(0, 0): 10}, 0)
    assert carry2 == []
    assert pointer2 == [(13, [54, 50, 52]), (14, [50, 52]), (15, [52]), (17, [50])]


def test_attention_loss_is_minus_log_of_the_attention_on_each_targets_keys():
    segs = [([0] * 9, [-100] * 6 + [1] * 3), ([0] * 5, [-100] * 3 + [1] * 2)]
    e = Example(np.zeros((4, 4, 3), np.uint8), np.zeros((3, 4)), [], segs,
                cites=[(0, 3, 2, True), (1, 1, 0, True), (1, 3, 1, False)])
    T = 120
    token_ids = torch.zeros(1, T, dtype=torch.long)
    token_ids[0, [50, 52, 54]] = OBJECT_SLOT
    starts = {(0, 0): 100, (0, 1): 109}
    g = torch.Generator().manual_seed(0)
    slots = ((1, 2), (2, 1), (2, 2))
    weights = {slot: torch.rand(1, T, T, generator=g).softmax(-1) for slot in slots}
    out = attention_loss([e], token_ids, starts, weights, slots)

    def direct(layer, head, targets):
        return float(np.mean([-np.log(float(weights[(layer, head)][0, q, ks].sum()) + 1e-6) for q, ks in targets]))

    assert abs(float(out["induction"]) - direct(1, 2, [(103, [54]), (110, [50]), (112, [52])])) < 1e-5
    assert abs(float(out["carry"]) - direct(2, 1, [(p, [103]) for p in range(104, 108)])) < 1e-5
    assert abs(float(out["pointer"]) - direct(2, 2, [(111, [52])])) < 1e-5
    # a layer whose weights were not captured gives no entry for its kinds
    assert set(attention_loss([e], token_ids, starts, {(1, 2): weights[(1, 2)]}, slots)) == {"induction"}
