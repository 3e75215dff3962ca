"""fo1_ros/proposals/base.py: the shared postprocess and the Proposals result."""

from __future__ import annotations

import numpy as np
import pytest

from fo1_ros.eval.proposal_recall import box_iou_np
from fo1_ros.proposals import ProposalConfig, Proposals, postprocess


# ------------------------------------------------------------------------------ postprocess
def _random_boxes(rng, n, H, W):
    xy = rng.uniform(-20, [W, H], (n, 2))
    wh = rng.uniform(0, 120, (n, 2))
    return np.concatenate([xy, xy + wh], 1), rng.uniform(0, 1, n)


@pytest.mark.parametrize("cfg", [ProposalConfig(), ProposalConfig(score_threshold=0.6, nms_iou=0.5, top_k=7),
                                 ProposalConfig(score_threshold=0.0, nms_iou=1.0, top_k=10_000, min_size=0.0)])
def test_postprocess_invariants(cfg):
    rng = np.random.default_rng(3)
    H, W = 120, 160
    boxes, scores = _random_boxes(rng, 400, H, W)
    boxes[5] = np.nan
    labels = [f"c{i}" for i in range(len(boxes))]
    p = postprocess(boxes, scores, (H, W), cfg, "x", labels=labels)
    b, s = p.boxes, p.scores
    assert len(p) <= cfg.top_k and len(p) + sum(p.dropped.values()) == 400
    assert np.all(b >= 0) and np.all(b[:, [0, 2]] <= W) and np.all(b[:, [1, 3]] <= H)
    assert np.all(b[:, 2:] - b[:, :2] >= max(cfg.min_size, 1e-6))
    assert np.all(s >= cfg.score_threshold) and np.all(np.diff(s) <= 0)
    np.testing.assert_array_equal(s, scores[p.index])  # index maps back to the raw output
    assert p.labels == [labels[i] for i in p.index]
    if cfg.nms_iou < 1 and len(b) > 1:
        iou = box_iou_np(b, b)
        np.fill_diagonal(iou, 0)
        assert iou.max() <= cfg.nms_iou


def test_postprocess_label_count_must_match():
    with pytest.raises(ValueError, match="labels"):
        postprocess(np.zeros((2, 4)), np.ones(2), (10, 10), labels=["a"])
    with pytest.raises(ValueError, match="labels"):
        Proposals(np.zeros((2, 4)), np.ones(2), labels=["a"])
