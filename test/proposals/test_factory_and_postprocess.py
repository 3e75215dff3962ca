"""make_proposal_source, the shared postprocess and the evaluation script."""

from __future__ import annotations

import numpy as np
import pytest

from fo1_ros.proposals import (
    SOURCE_NAMES,
    GivenBoxes,
    ProposalConfig,
    Proposals,
    RGBDConfig,
    RGBDProposer,
    make_proposal_source,
    postprocess,
)
from fo1_ros.proposals.evaluate import box_iou_np, evaluate, main


# ------------------------------------------------------------------------------ factory
def test_factory_default_is_rgbd():
    src = make_proposal_source()
    assert isinstance(src, RGBDProposer) and src.name == "rgbd"
    assert make_proposal_source("RGBD", band_px=9).config.band_px == 9
    cfg = RGBDConfig(min_seed_px=20)
    assert make_proposal_source("rgbd", config=cfg).config is cfg


def test_factory_given():
    src = make_proposal_source("given", boxes=np.array([[1, 2, 30, 40]]))
    assert isinstance(src, GivenBoxes)
    props = src(np.zeros((50, 60, 3), np.uint8))
    np.testing.assert_array_equal(props.boxes, [[1, 2, 30, 40]])


def test_factory_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as e:
        make_proposal_source("upn")
    for name in SOURCE_NAMES:
        assert repr(name) in str(e.value)


@pytest.mark.parametrize("name, kwargs", [("rgbd", {"no_such_field": 1}), ("given", {"nope": 1}),
                                          ("rgbd", {"config": RGBDConfig(), "band_px": 3})])
def test_factory_bad_arguments(name, kwargs):
    with pytest.raises(ValueError):
        make_proposal_source(name, **kwargs)


def test_factory_hf_needs_an_existing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing_model"):
        make_proposal_source("hf", folder=tmp_path / "missing_model")


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


# ------------------------------------------------------------------------------ evaluation
def test_evaluate_reports_recall_of_a_perfect_and_an_empty_source():
    from fo1_ros.synth import make_scene

    scenes = [make_scene(123), make_scene(124)]  # bit-identical to what evaluate renders
    truth = {s.rgb.tobytes(): np.array([o.box_2d for o in s.visible_objects(0.3)]).reshape(-1, 4) for s in scenes}

    def oracle(rgb, depth_m=None, K=None):  # reads ground truth on purpose: checks the metric itself
        gt = truth[rgb.tobytes()]
        return Proposals(gt, np.ones(len(gt)))

    rep = evaluate(oracle, n=2, start=123)
    assert rep.n_scenes == 2 and rep.seeds == (123, 124)
    assert rep.n_objects == sum(len(g) for g in truth.values()) > 0
    assert rep.recall["all@0.75"] == 1.0 and rep.recall["top20@0.5"] == 1.0
    empty = evaluate(lambda rgb, depth_m=None, K=None: Proposals(np.zeros((0, 4)), np.zeros(0)), n=1, start=123)
    assert empty.recall["all@0.5"] == 0.0 and empty.mean_proposals == 0


def test_evaluate_command_prints_the_numbers(capsys):
    assert main(["--n", "1", "--start", "900000"]) == 0
    out = capsys.readouterr().out
    for key in ("recall@0.5", "recall@0.75", "top-20", "top-50", "proposals per frame", "time per frame"):
        assert key in out


def test_evaluate_command_rejects_unknown_sources(caplog):
    assert main(["--n", "1", "--source", "upn"]) == 2
    assert "known" in caplog.text
